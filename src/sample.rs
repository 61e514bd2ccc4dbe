//! `cs-report sample`: writes a realistic, deterministic set of exports for
//! every table of the input contract, with the edge cases the contract names:
//! mid-month starts, subscriptions starting and ending inside one month, end
//! dates on the 1st, overlapping add-ons, gaps then reactivation, quarterly
//! and annual plans, free plans, refunds and void invoices, prices fixed in
//! two other currencies (EUR, GBP) whose rates move every month, awkward
//! names, timestamps with offsets.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};

use crate::error::{Error, Result};
use crate::model::period::Month;

#[derive(Debug, Clone)]
pub struct SampleRequest {
    pub out: PathBuf,
    pub customers: usize,
    pub seed: u64,
    /// The last month with data.
    pub end: Month,
    /// How many months of history.
    pub months: u32,
    /// Multiplies the number of usage events (1.0 ≈ 12 per active customer-month).
    pub usage_scale: f64,
}

/// SplitMix64: small, fast, and fixed forever, so a seed always gives the
/// same files whatever crate versions the build uses.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// A small count with the given mean (Poisson by inversion).
    fn count(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit && k < 200 {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

struct Table {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Table {
    fn create(dir: &Path, name: &str, header: &str) -> Result<Table> {
        let path = dir.join(format!("{name}.csv"));
        let file = File::create(&path).map_err(Error::io("creating", &path))?;
        let mut t = Table { path, out: BufWriter::with_capacity(1 << 20, file) };
        t.line(header)?;
        Ok(t)
    }
    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").map_err(Error::io("writing", &self.path))
    }
    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(Error::io("writing", &self.path))
    }
}

fn quote(text: &str) -> String {
    crate::model::text::csv_quote(text)
}

const SEGMENTS: [(&str, f64); 3] = [("smb", 0.6), ("mid_market", 0.3), ("enterprise", 0.1)];
const REGIONS: [&str; 4] = ["emea", "north_america", "apac", "latam"];

/// Account managers of the sample: (owner id, name).
const OWNERS: [(&str, &str); 20] = [
    ("ana.silva", "Ana Silva"), ("ben.okafor", "Ben Okafor"), ("chloe.martin", "Chloé Martin"), ("dev.patel", "Dev Patel"),
    ("eva.novak", "Eva Novak"), ("femi.adeyemi", "Femi Adeyemi"), ("gus.larsen", "Gus Larsen"), ("hana.sato", "Hana Sato"),
    ("ivan.petrov", "Ivan Petrov"), ("jade.wong", "Jade Wong"), ("kofi.mensah", "Kofi Mensah"), ("lea.fischer", "Lea Fischer"),
    ("mateo.ruiz", "Mateo Ruiz"), ("nina.berg", "Nina Berg"), ("omar.haddad", "Omar Haddad"), ("pia.rossi", "Pia Rossi"),
    ("quinn.obrien", "Quinn O'Brien"), ("rosa.lima", "Rosa Lima"), ("sam.cohen", "Sam Cohen"), ("tara.singh", "Tara Singh"),
];
const CHANNELS: [&str; 5] = ["paid_search", "content", "events", "referral", "partner"];
const FEATURES: [&str; 8] =
    ["dashboard_view", "report_created", "report_shared", "data_import", "alert_set", "api_call", "comment", "export"];
const NAMES: [&str; 12] = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Soylent", "Cyberdyne", "Wonka",
];

struct Plan {
    monthly: f64,
    period: &'static str,
}

fn plan_for(rng: &mut Rng, segment: &str) -> Plan {
    let base = match segment {
        "enterprise" => *rng.pick(&[1500.0, 2500.0, 4000.0]),
        "mid_market" => *rng.pick(&[299.0, 499.0, 799.0]),
        _ => *rng.pick(&[0.0, 29.0, 49.0, 99.0]),
    };
    let period = match (segment, rng.below(10)) {
        ("enterprise", 0..=6) => "year",
        ("enterprise", _) => "month",
        (_, 8..) => "year",
        (_, 0..=5) => "month",
        (_, _) => "quarter",
    };
    Plan { monthly: base, period }
}

fn months_in(period: &str) -> i64 {
    match period {
        "quarter" => 3,
        "year" => 12,
        _ => 1,
    }
}

/// Amount per billing period, with a little discount for longer terms.
fn price(monthly: f64, period: &str) -> f64 {
    let factor = match period {
        "quarter" => 0.95,
        "year" => 0.85,
        _ => 1.0,
    };
    (monthly * months_in(period) as f64 * factor * 100.0).round() / 100.0
}

fn day_in(rng: &mut Rng, month: Month) -> NaiveDate {
    let days = month.last_day().signed_duration_since(month.first_day()).num_days() as u64 + 1;
    month.first_day() + Duration::days(rng.below(days) as i64)
}

/// A timestamp in one of the ISO 8601 forms the contract allows, for the
/// given UTC date and second of day.
fn timestamp(rng: &mut Rng, date: NaiveDate, second: u32) -> String {
    let at = date.and_hms_opt(second / 3600, (second / 60) % 60, second % 60).expect("valid time");
    match rng.below(10) {
        0 => format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S")),
        1 => {
            // The same instant written at +02:00.
            let local = at + Duration::hours(2);
            format!("{}+02:00", local.format("%Y-%m-%dT%H:%M:%S"))
        }
        2 => format!("{}.250", at.format("%Y-%m-%d %H:%M:%S")),
        _ => at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

fn random_timestamp(rng: &mut Rng, date: NaiveDate) -> String {
    let second = rng.below(86_400) as u32;
    timestamp(rng, date, second)
}

struct Subscription {
    id: usize,
    start: NaiveDate,
    end: Option<NaiveDate>,
    period: &'static str,
    amount: f64,
    currency: &'static str,
    kind: &'static str,
}

pub fn generate(req: &SampleRequest) -> Result<()> {
    fs::create_dir_all(&req.out).map_err(Error::io("creating", &req.out))?;
    let mut rng = Rng(req.seed ^ 0x5EED_CAFE);
    let first = req.end.plus(-(req.months as i32) + 1);
    let dir = req.out.as_path();
    // Customer-success managers: 5 for a small sample, 20 from 1,000
    // customers. The fifth has no row in owners (a warning, no email), and
    // about one customer in eleven has no owner.
    let n_owners = if req.customers >= 1000 { OWNERS.len() } else { (req.customers / 40).clamp(1, 5) };
    let mut w = Writers::create(dir)?;
    let mut owners = Table::create(dir, "owners", "owner,name,email")?;
    for (i, (id, name)) in OWNERS.iter().take(n_owners).enumerate() {
        if i != 4 {
            owners.line(&format!("{id},{name},{id}@example.com"))?;
        }
    }
    let scope = Scope { req, first, horizon: req.end.last_day(), n_owners };
    for c in 0..req.customers {
        customer(&scope, &mut rng, &mut w, c)?;
    }
    // Leads whose trial never became a customer, and trials still running.
    for _ in 0..req.customers / 3 {
        w.trial_id += 1;
        let month = first.plus(rng.below(req.months as u64) as i32);
        let started = day_in(&mut rng, month);
        let ended = started + Duration::days(14);
        w.trials.line(&format!("T{trial_id:07},,{started},{ended},", trial_id = w.trial_id))?;
    }

    let (spend, fx) = spend_and_rates(&scope, &mut rng, dir)?;
    let Writers { customers, subs, invoices, surveys, tickets, usage, trials, .. } = w;
    for t in [customers, owners, subs, invoices, surveys, tickets, usage, trials, spend, fx] {
        t.finish()?;
    }
    Ok(())
}

/// What every customer of the sample is drawn within.
struct Scope<'a> {
    req: &'a SampleRequest,
    first: Month,
    horizon: NaiveDate,
    n_owners: usize,
}

/// The tables written customer by customer, and the last id of each kind.
struct Writers {
    customers: Table,
    subs: Table,
    invoices: Table,
    surveys: Table,
    tickets: Table,
    usage: Table,
    trials: Table,
    sub_id: usize,
    inv_id: usize,
    resp_id: usize,
    ticket_id: usize,
    trial_id: usize,
}

impl Writers {
    fn create(dir: &Path) -> Result<Writers> {
        Ok(Writers {
            customers: Table::create(dir, "customers", "customer_id,name,signup_date,segment,region,acquisition_channel,owner")?,
            subs: Table::create(dir, "subscriptions", "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency")?,
            invoices: Table::create(dir, "invoices", "invoice_id,customer_id,invoice_date,amount,currency,status,kind")?,
            surveys: Table::create(dir, "survey_responses", "response_id,customer_id,survey,score,responded_at")?,
            tickets: Table::create(dir, "tickets", "ticket_id,customer_id,created_at,resolved_at,contacts")?,
            usage: Table::create(dir, "usage_events", "customer_id,user_id,occurred_at,feature,duration_seconds")?,
            trials: Table::create(dir, "trials", "trial_id,customer_id,started_at,ended_at,converted_at")?,
            sub_id: 0,
            inv_id: 0,
            resp_id: 0,
            ticket_id: 0,
            trial_id: 0,
        })
    }
}

/// Customer `c`: its row, maybe a trial, its subscriptions, their invoices,
/// and its activity. The random draws follow in this order, so the sample
/// of a seed never changes.
fn customer(scope: &Scope, rng: &mut Rng, w: &mut Writers, c: usize) -> Result<()> {
    let (req, first, n_owners) = (scope.req, scope.first, scope.n_owners);
    let cid = format!("C{:06}", c + 1);
    let segment = {
        let r = rng.unit();
        let mut acc = 0.0;
        SEGMENTS.iter().find(|(_, w)| { acc += w; r < acc }).map_or("smb", |(s, _)| s)
    };
    let region = *rng.pick(&REGIONS);
    let channel = *rng.pick(&CHANNELS);
    let signup_month = first.plus(rng.below(req.months as u64) as i32);
    let signup = day_in(rng, signup_month);
    let name = match c % 97 {
        13 => "<script>alert('x')</script> Ltd".to_string(),
        29 => "Pipe | Table & Co".to_string(),
        41 => "Émilie's \"Café\" 🚀".to_string(),
        _ => format!("{} {} {}", rng.pick(&NAMES), c + 1, rng.pick(&["Inc", "GmbH", "Ltd", "SAS", "BV"])),
    };
    let segment_cell = if c % 53 == 7 { "" } else { segment };
    let region_cell = if c % 61 == 5 { "" } else { region };
    let channel_cell = if c % 43 == 3 { "" } else { channel };
    // From the customer's number, not the random stream, so every other
    // column is what it was before owners existed.
    let owner_cell = if c % 11 == 4 { "" } else { OWNERS[(c * 7 + 3) % n_owners].0 };
    w.customers.line(&format!("{cid},{},{signup},{segment_cell},{region_cell},{channel_cell},{owner_cell}", quote(&name)))?;

    // A trial before signing up for about half the customers.
    if rng.chance(0.5) {
        w.trial_id += 1;
        let started = signup - Duration::days(14 + rng.below(10) as i64);
        let ended = started + Duration::days(14);
        // Converted on the signup day, sometimes in the month after the trial ended.
        w.trials.line(&format!("T{trial_id:07},{cid},{started},{ended},{signup}", trial_id = w.trial_id))?;
    }
    let (list, currency) = subscriptions(scope, rng, w, c, segment, signup);
    let (paid_months, first_paid) = bill(scope, rng, w, &cid, currency, &list)?;
    activity(scope, rng, w, &cid, segment, paid_months, first_paid)
}

/// The subscription history: a main plan, churn, maybe a comeback, add-ons
/// that overlap, plan changes, and a pilot inside one month for some.
fn subscriptions(scope: &Scope, rng: &mut Rng, w: &mut Writers, c: usize, segment: &str, signup: NaiveDate) -> (Vec<Subscription>, &'static str) {
    let horizon = scope.horizon;
    // The subscription history: a main plan, churn, maybe a comeback,
    // add-ons that overlap, and plan changes.
    let currency = if rng.chance(0.15) { "EUR" } else if rng.chance(0.5) { "USD" } else { "" };
    // Every third euro customer pays in pounds instead: a third currency
    // without drawing from the random stream, so the rest of the sample
    // stays as it was.
    let currency = if currency == "EUR" && c % 3 == 0 { "GBP" } else { currency };
    let mut plan = plan_for(rng, segment);
    let churn = match segment {
        "enterprise" => 0.006,
        "mid_market" => 0.015,
        _ => 0.03,
    };
    let mut list: Vec<Subscription> = Vec::new();
    let mut start = signup;
    let mut active_until: Option<NaiveDate>;
    loop {
        // Walk the term month by month until it churns or the horizon.
        let mut day = start;
        let mut end = None;
        while day <= horizon {
            day += Duration::days(30);
            if rng.chance(churn) {
                // Ends on the 1st of a month a third of the time.
                let e = if rng.chance(0.33) { Month::of(day).plus(1).first_day() } else { day };
                if e > start && e <= horizon {
                    end = Some(e);
                }
                break;
            }
            if rng.chance(0.01) && day < horizon {
                // A plan change: the old subscription ends the day the new one starts.
                w.sub_id += 1;
                list.push(Subscription { id: w.sub_id, start, end: Some(day), period: plan.period, amount: price(plan.monthly, plan.period), currency, kind: "subscription" });
                let up = rng.chance(0.6);
                plan.monthly = ((plan.monthly * if up { 1.5 } else { 0.6 }) * 100.0).round() / 100.0;
                start = day;
            }
        }
        w.sub_id += 1;
        list.push(Subscription { id: w.sub_id, start, end, period: plan.period, amount: price(plan.monthly, plan.period), currency, kind: "subscription" });
        active_until = end;
        // A third of churned customers come back after a gap.
        match end {
            Some(e) if rng.chance(0.33) => {
                let back = e + Duration::days(35 + rng.below(120) as i64);
                if back > horizon {
                    break;
                }
                start = back;
                plan = plan_for(rng, segment);
            }
            _ => break,
        }
    }
    extras(scope, rng, w, c, &mut list, plan.monthly > 0.0, active_until, currency);
    (list, currency)
}

/// Overlapping add-ons for some paying customers (ending with the main plan
/// at the latest), and a pilot inside one month for a few.
#[allow(clippy::too_many_arguments)]
fn extras(scope: &Scope, rng: &mut Rng, w: &mut Writers, c: usize, list: &mut Vec<Subscription>, paying: bool, active_until: Option<NaiveDate>, currency: &'static str) {
    let horizon = scope.horizon;
    let main_start = list[0].start;
    if paying && rng.chance(0.2) {
        let s = main_start + Duration::days(20 + rng.below(200) as i64);
        if s <= horizon {
            w.sub_id += 1;
            let e = if rng.chance(0.4) { Some(s + Duration::days(60 + rng.below(200) as i64)).filter(|e| *e <= horizon) } else { None };
            let kind = if rng.chance(0.5) { "upsell" } else { "cross_sell" };
            // An add-on ends with the main plan at the latest.
            let end = match (e, active_until) {
                (Some(e), Some(u)) => Some(e.min(u)),
                (e, u) => e.or(u),
            };
            if end.is_none_or(|end| end > s) {
                list.push(Subscription { id: w.sub_id, start: s, end, period: "month", amount: *rng.pick(&[19.0, 39.0, 79.0]), currency, kind });
            }
        }
    }
    // A pilot that starts and ends inside one month (never active at a month end).
    if c % 37 == 11 {
        let m = Month::of(main_start);
        let s = m.first_day() + Duration::days(2);
        w.sub_id += 1;
        list.push(Subscription { id: w.sub_id, start: s, end: Some(s + Duration::days(10)), period: "month", amount: 15.0, currency, kind: "one_time" });
    }
}

/// A subscription's invoices at the start of every billing period (and a
/// one-time charge for some); the months paid for, and the first paid day.
fn bill(scope: &Scope, rng: &mut Rng, w: &mut Writers, cid: &str, currency: &str, list: &[Subscription]) -> Result<(Vec<Month>, Option<NaiveDate>)> {
    let horizon = scope.horizon;
    let mut paid_months: Vec<Month> = Vec::new();
    let mut first_paid: Option<NaiveDate> = None;
    for s in list {
        let end_cell = s.end.map(|d| d.to_string()).unwrap_or_default();
        let plan_name = if s.amount == 0.0 { "free" } else if s.kind == "subscription" { s.period } else { "addon" };
        w.subs.line(&format!("S{:07},{cid},{plan_name},{},{end_cell},{},{:.2},{}", s.id, s.start, s.period, s.amount, s.currency))?;
        if s.amount > 0.0 {
            first_paid = Some(first_paid.map_or(s.start, |f| f.min(s.start)));
        }
        // Invoices at the start of every billing period.
        let mut at = s.start;
        while at <= horizon && s.end.is_none_or(|e| at < e) && s.amount > 0.0 {
            w.inv_id += 1;
            let status = match rng.below(100) {
                0..=2 => "open",
                3 => "void",
                4 => "refunded",
                _ => "paid",
            };
            let kind = if s.kind == "one_time" { "one_time" } else { s.kind };
            w.invoices.line(&format!("I{inv_id:08},{cid},{at},{:.2},{},{status},{kind}", s.amount, s.currency, inv_id = w.inv_id))?;
            let first_covered = Month::of(at);
            for k in 0..months_in(s.period) as i32 {
                paid_months.push(first_covered.plus(k));
            }
            at = Month::of(at).plus(months_in(s.period) as i32).first_day() + Duration::days(at.signed_duration_since(Month::of(at).first_day()).num_days().min(27));
        }
    }
    if let Some(day) = first_paid.map(|d| d + Duration::days(5)).filter(|d| *d <= horizon && rng.chance(0.05)) {
        w.inv_id += 1;
        w.invoices.line(&format!("I{inv_id:08},{cid},{day},250.00,{currency},paid,one_time", inv_id = w.inv_id))?;
    }
    Ok((paid_months, first_paid))
}

/// Usage in the months the customer pays for (and a little in the trial
/// before), answers to surveys, support tickets.
fn activity(scope: &Scope, rng: &mut Rng, w: &mut Writers, cid: &str, segment: &str, mut paid_months: Vec<Month>, first_paid: Option<NaiveDate>) -> Result<()> {
    let (req, first) = (scope.req, scope.first);
    paid_months.sort();
    paid_months.dedup();
    let seats = match segment {
        "enterprise" => 12,
        "mid_market" => 5,
        _ => 2,
    };
    let engagement = rng.unit();
    let mut months: Vec<Month> = paid_months.iter().copied().filter(|m| *m <= req.end).collect();
    if let Some(fp) = first_paid {
        let before = Month::of(fp).plus(-1);
        if before >= first && rng.chance(0.3) {
            months.insert(0, before);
        }
    }
    for m in months {
        let users = 1 + rng.below(seats) as u32;
        for u in 0..users {
            let n = rng.count(4.0 * req.usage_scale * (0.3 + engagement));
            for _ in 0..n {
                let date = day_in(rng, m);
                let feature = if rng.chance(0.08) { "report_shared" } else { *rng.pick(&FEATURES) };
                let duration = if rng.chance(0.05) { String::new() } else { (30 + rng.below(1800)).to_string() };
                let ts = random_timestamp(rng, date);
                w.usage.line(&format!("{cid},U{u:03},{ts},{feature},{duration}"))?;
            }
        }
        if rng.chance(0.25) {
            w.resp_id += 1;
            // Engaged customers recommend more: 5 to 10, give or take 2.
            let score = (5.0 + 5.0 * engagement + rng.below(5) as f64 - 2.0).round().clamp(0.0, 10.0);
            let date = if rng.chance(0.1) { m.last_day() } else { day_in(rng, m) };
            let second = if date == m.last_day() && rng.chance(0.5) { 86_399 } else { rng.below(86_400) as u32 };
            let ts = timestamp(rng, date, second);
            w.surveys.line(&format!("R{resp_id:08},{cid},nps,{score},{ts}", resp_id = w.resp_id))?;
        }
        if rng.chance(0.15) {
            w.resp_id += 1;
            let date = day_in(rng, m);
            let ts = random_timestamp(rng, date);
            let csat = (2.5 + 2.5 * engagement + rng.below(3) as f64 - 1.0).round().clamp(1.0, 5.0);
            w.surveys.line(&format!("R{resp_id:08},{cid},csat,{csat},{ts}", resp_id = w.resp_id))?;
        }
        if rng.chance(0.1) {
            w.resp_id += 1;
            let date = day_in(rng, m);
            let ts = random_timestamp(rng, date);
            w.surveys.line(&format!("R{resp_id:08},{cid},ces,{},{ts}", 1 + rng.below(7), resp_id = w.resp_id))?;
        }
        for _ in 0..rng.count(0.4) {
            w.ticket_id += 1;
            let date = day_in(rng, m);
            let second = rng.below(86_400) as u32;
            let created = date.and_hms_opt(second / 3600, (second / 60) % 60, second % 60).expect("valid time");
            let resolved = if rng.chance(0.08) {
                String::new()
            } else {
                (created + Duration::minutes(10 + rng.below(5 * 24 * 60) as i64)).format("%Y-%m-%d %H:%M:%S").to_string()
            };
            let contacts = 1 + rng.count(0.5);
            w.tickets.line(&format!("K{ticket_id:08},{cid},{},{resolved},{contacts}", created.format("%Y-%m-%d %H:%M:%S"), ticket_id = w.ticket_id))?;
        }
    }
    Ok(())
}

/// A month of marketing spend per paid channel and the exchange rates.
fn spend_and_rates(scope: &Scope, rng: &mut Rng, dir: &Path) -> Result<(Table, Table)> {
    let (req, first) = (scope.req, scope.first);
    let mut spend = Table::create(dir, "marketing_spend", "month,channel,amount,currency")?;
    let mut fx = Table::create(dir, "fx_rates", "currency,month,rate")?;
    let mut m = first;
    let scale = req.customers as f64 / 200.0;
    while m <= req.end {
        for channel in CHANNELS.iter().filter(|c| **c != "referral") {
            let amount = ((800.0 + rng.below(2400) as f64) * scale * 100.0).round() / 100.0;
            let (amount, currency) = if *channel == "events" { (amount / 1.1, "EUR") } else { (amount, "") };
            spend.line(&format!("{},{channel},{amount:.2},{currency}", day_in(rng, m)))?;
        }
        fx.line(&format!("EUR,{},{:.4}", m.first_day(), 1.05 + rng.below(800) as f64 / 10_000.0))?;
        // The pound drifts on a slow wave, a cent or two a month.
        let step = m.since(first) as f64;
        fx.line(&format!("GBP,{},{:.4}", m.first_day(), 1.25 + 0.04 * (step / 3.0).sin() + 0.002 * step))?;
        m = m.plus(1);
    }
    Ok((spend, fx))
}
