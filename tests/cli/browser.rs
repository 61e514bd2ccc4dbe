//! The HTML report as a reader sees it: opened in headless Chromium at
//! 1280 and 768 px, no horizontal page scroll, every chart drawn. The
//! screenshots are kept under the test's output folder
//! (`<target>/tmp/report-<width>.png`) for people and CI to look at. The
//! email is opened the same way at 600 px, its `cid:` images shown as a
//! mail client shows them (`<target>/tmp/email-600.png`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Chromium, which `make test` installs; its absence fails the test.
fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    panic!("headless Chromium is needed to check the report page and is not installed: `make test` installs it (apt-get install chromium)");
}

fn chromium_at(width: u32, args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--window-size={width},1100"),
            "--virtual-time-budget=3000",
        ])
        .args(args)
        .output()
        .expect("chromium runs")
}

/// Measures the page from inside: viewport, page width, charts drawn.
const PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const svgs = [...document.querySelectorAll('figure svg')];
  const out = {
    width: window.innerWidth,
    scroll: document.documentElement.scrollWidth,
    charts: svgs.length,
    drawn: svgs.filter(s => { const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 50; }).length,
  };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

/// What a reader sees before scrolling, in a window 1100 px high: the
/// bottom of the one-sentence summary (`lead`), of the headline numbers
/// and of the attention list, the window's height and how many attention
/// items there are. `SELECTORS` is replaced by the page's own selectors.
const FIRST_SCREEN_PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const [lead, headline, attention, items] = SELECTORS;
  const bottom = s => { const e = document.querySelector(s); return e ? e.getBoundingClientRect().bottom : null; };
  const out = {
    height: window.innerHeight,
    lead: bottom(lead),
    headline: bottom(headline),
    attention: bottom(attention),
    items: document.querySelectorAll(items).length,
  };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

/// Asserts the first screen holds the sentence, the headline numbers and
/// at most five attention items, whole.
fn assert_first_screen(m: &serde_json::Value, what: &str) {
    let height = m["height"].as_f64().unwrap();
    for part in ["lead", "headline", "attention"] {
        let bottom = m[part].as_f64().unwrap_or_else(|| panic!("{what}: no {part} on the page: {m}"));
        assert!(bottom <= height, "{what}: the {part} ends below the first screen: {m}");
    }
    let items = m["items"].as_u64().unwrap();
    assert!((1..=5).contains(&items), "{what}: {items} attention items: {m}");
}

/// Opens `html` with `probe` added at `width` px and returns what the probe
/// measured.
fn measure(html: &str, probe: &str, at: &Path, width: u32) -> serde_json::Value {
    fs::write(at, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let out = chromium_at(width, &["--dump-dom", &format!("file://{}", at.display())]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("at {width} px the probe did not run: {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(json).unwrap()
}

/// A screenshot of `page` at `width` px, kept as `<target>/tmp/<name>`.
fn screenshot(page: &Path, width: u32, name: &str) {
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let taken = chromium_at(width, &[&format!("--screenshot={}", shot.display()), &format!("file://{}", page.display())]);
    assert!(shot.is_file(), "no screenshot at {width} px: {}", String::from_utf8_lossy(&taken.stderr));
    println!("screenshot: {}", shot.display());
}

#[test]
fn the_report_page_fits_1280_and_768_pixels_with_every_chart_drawn() {
    let s = sample_scenario();
    s.run("2025-06", &[]);
    let dir = s.out().join("2025-06");
    let pngs = fs::read_dir(dir.join("charts")).unwrap().count();
    assert!(pngs >= 10, "{pngs} charts");
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    // A copy with the probe; the published page has no script at all.
    assert!(!html.contains("<script"));
    for width in [1280u32, 768] {
        let m = measure(&html, PROBE, &dir.join("probe.html"), width);
        assert!(m["scroll"].as_i64() <= m["width"].as_i64(), "at {width} px the page scrolls sideways: {m}");
        assert_eq!(m["charts"].as_u64(), Some(pngs as u64), "at {width} px: {m}");
        assert_eq!(m["drawn"], m["charts"], "at {width} px a chart was not drawn: {m}");
        screenshot(&dir.join("report.html"), width, &format!("report-{width}.png"));
    }
    let probe = FIRST_SCREEN_PROBE.replace("SELECTORS", r#"['p.lead', 'div.cards', 'ol.top', 'ol.top li']"#);
    assert_first_screen(&measure(&html, &probe, &dir.join("probe.html"), 1280), "the report at 1280 px");
}

/// Measures the email from inside: viewport, page width, images shown.
const EMAIL_PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img')];
  const out = {
    width: window.innerWidth,
    scroll: document.documentElement.scrollWidth,
    images: imgs.length,
    shown: imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 100).length,
    widest: Math.max(...imgs.map(i => i.getBoundingClientRect().right)),
  };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

#[test]
fn the_email_fits_600_pixels_with_every_chart_shown() {
    let s = sample_scenario();
    s.run("2025-06", &[]);
    let eml = fs::read(s.out().join("2025-06/email.eml")).unwrap();
    let mail = mailparse::parse_mail(&eml).unwrap();
    let related = &mail.subparts[0].subparts[1];
    let mut html = related.subparts[0].get_body().unwrap();
    // As a mail client does: each cid: shows the image part of that Content-ID.
    let shown = s.dir.path().join("email");
    fs::create_dir_all(&shown).unwrap();
    for (i, image) in related.subparts[1..].iter().enumerate() {
        use mailparse::MailHeaderMap;
        let cid = image.headers.get_first_value("Content-ID").unwrap();
        let file = shown.join(format!("{i}.png"));
        fs::write(&file, image.get_body_raw().unwrap()).unwrap();
        html = html.replace(&format!("cid:{}", cid.trim_matches(['<', '>'])), &format!("{i}.png"));
    }
    assert!(!html.contains("cid:"), "every cid: has its image part");
    let page = shown.join("email.html");
    fs::write(&page, &html).unwrap();
    let m = measure(&html, EMAIL_PROBE, &shown.join("probe.html"), 600);
    assert!(m["scroll"].as_i64() <= m["width"].as_i64(), "the email scrolls sideways at 600 px: {m}");
    assert!(m["images"].as_u64() >= Some(4), "{m}");
    assert_eq!(m["shown"], m["images"], "an image was not shown: {m}");
    assert!(m["widest"].as_f64() <= Some(600.0), "{m}");
    screenshot(&page, 600, "email-600.png");
    let probe = FIRST_SCREEN_PROBE.replace("SELECTORS", r#"['p.lead', 'table.headline', 'table.attention', 'table.attention tr']"#);
    assert_first_screen(&measure(&html, &probe, &shown.join("probe.html"), 600), "the email at 600 px");
}
