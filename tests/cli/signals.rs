//! The customer signals on hand-worked fixtures: survey answers, support,
//! acquisition, product usage and customer health.

use std::fs;

use crate::support::*;

#[test]
fn customer_voice_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("nps", Some(20.0));
    m.assert("nps_responses", Some(5.0));
    m.assert("nps_promoters", Some(2.0));
    m.assert("nps_passives", Some(2.0));
    m.assert("nps_detractors", Some(1.0));
    m.assert("nps_margin_of_error", Some(196.0 * (0.56f64 / 5.0).sqrt()));
    m.assert_in("nps", "segment", "enterprise", Some(50.0));
    m.assert_in("nps", "segment", "smb", Some(0.0));
    m.assert_in("nps", "region", "north_america", Some(100.0 / 3.0));
    m.assert("csat", Some(200.0 / 3.0));
    m.assert("csat_responses", Some(3.0));
    // No CES answer in March: null, not 0.
    m.assert("ces", None);
    m.assert("ces_responses", Some(0.0));
    let text = fs::read_to_string(s.out().join("2024-03/metrics.csv")).unwrap();
    assert!(text.contains("2024-03,nps,v1,all,all,20,score,true"), "low-sample flag: {text}");
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("Net promoter score rests on 5 answer(s)"), "{report}");
}

#[test]
fn support_and_acquisition_match_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("ticket_volume", Some(9.0));
    m.assert("fcr", Some(700.0 / 9.0));
    m.assert("median_resolution_hours", Some(1.0));
    m.assert("tickets_per_active_customer", Some(2.25));
    m.assert("referral_rate", Some(100.0));
    m.assert("trial_conversion_rate", Some(100.0 / 3.0));
    // A trial may have no customer: no segment rows.
    assert!(!m.values.contains_key(&("trial_conversion_rate".into(), "segment".into(), "smb".into())));
}

#[test]
fn product_usage_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("adoption_rate", Some(75.0));
    m.assert_in("adoption_rate", "feature", "dashboard_view", Some(50.0));
    m.assert_in("adoption_rate", "feature", "alert_set", Some(25.0));
    m.assert("active_users", Some(5.0));
    m.assert("avg_time_on_platform_minutes", Some(6.2));
    m.assert("engagement_score", Some(28.75));
    m.assert("time_to_value_days", Some(5.0));
    m.assert("activation_rate", Some(100.0));
}

#[test]
fn more_than_64_features_are_counted_exactly() {
    // X uses 70 features (f00..f69) on 3 days with two users; Y uses f69
    // once. Each event lasts 60 s. With target_features 100:
    // engagement X = 100 × (0.6 × 3/20 + 0.4 × 70/100) = 37,
    //            Y = 100 × (0.6 × 1/20 + 0.4 × 1/100) = 3.4; mean 20.2.
    let mut events = String::from("customer_id,user_id,occurred_at,feature,duration_seconds\n");
    for i in 0..70 {
        let (user, day) = if i < 35 { ("U1", 1) } else { ("U2", 2 + i % 2) };
        events.push_str(&format!("X,{user},2024-03-0{day} 10:00:00,f{i:02},60\n"));
    }
    events.push_str("Y,U1,2024-03-05 10:00:00,f69,60\n");
    let s = Scenario::inline(&[
        ("customers.csv", "customer_id,name,signup_date,segment,region,acquisition_channel\nX,Ex,2024-01-01,smb,emea,content\nY,Why,2024-01-01,smb,emea,content\n"),
        (
            "subscriptions.csv",
            "subscription_id,customer_id,plan,start_date,end_date,billing_period,amount,currency\nx,X,base,2024-01-01,,month,100,\ny,Y,base,2024-01-01,,month,100,\n",
        ),
        ("usage_events.csv", &events),
    ]);
    let config = s.write("cfg.yaml", "parameters:\n  engagement: {target_features: 100}\nfreshness: {usage_events: 'off'}\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("engagement_score", Some(20.2));
    m.assert("active_users", Some(3.0));
    m.assert("avg_time_on_platform_minutes", Some(71.0 / 3.0));
    m.assert_in("adoption_rate", "feature", "f00", Some(50.0));
    m.assert_in("adoption_rate", "feature", "f64", Some(50.0));
    m.assert_in("adoption_rate", "feature", "f69", Some(100.0));
}

#[test]
fn customer_health_matches_the_hand_worked_fixture() {
    let s = Scenario::fixture("cx");
    let m = s.run("2024-03", &[]);
    m.assert("health_score", Some(51.0));
    m.assert("at_risk_customers", Some(1.0));
    m.assert("at_risk_mrr", Some(50.0));
    let customers = fs::read_to_string(s.out().join("2024-03/customers.csv")).unwrap();
    let row = |id: &str| customers.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap().to_string();
    assert!(row("A").contains(",100,67.9,neutral,41,90,60,100,"), "{}", row("A"));
    assert!(row("B").contains(",50,24,at_risk,0,60,60,0,"), "{}", row("B"));
    assert!(row("C").contains(",200,62.5,neutral,25,100,100,,"), "{}", row("C"));
    assert!(row("D").contains(",30,49.6,neutral,49,80,0,50,"), "{}", row("D"));
    assert!(!customers.contains("\nE,"), "E is not active");
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("At-risk customers to call first") && report.contains("| Beta | SMB | 50.00 USD | 24.0 |"), "{report}");
}

#[test]
fn missing_health_inputs_renormalise_the_weights() {
    let s = Scenario::fixture("cx");
    s.remove("tickets.csv");
    let m = s.run("2024-03", &[]);
    let expected = [58.9 / 0.85, 15.0 / 0.85, 35.0 / 0.65, 49.6 / 0.85];
    m.assert("health_score", Some(expected.iter().sum::<f64>() / 4.0));
    m.assert("at_risk_customers", Some(1.0));
    assert!(!m.has("ticket_volume") && !m.has("fcr"));
    let report = fs::read_to_string(s.out().join("2024-03/report.md")).unwrap();
    assert!(report.contains("Ticket volume: not available (needs `tickets`)"), "{report}");
}

#[test]
fn ces_direction_and_csat_threshold_follow_the_config() {
    let s = Scenario::fixture("cx");
    let config = s.write("cfg.yaml", "parameters:\n  csat_satisfied_min: 5\n  ces_higher_is_better: true\n");
    let m = s.run("2024-03", &["--config", config.to_str().unwrap()]);
    m.assert("csat", Some(100.0 / 3.0));
    let series = fs::read_to_string(s.out().join("2024-03/series.csv")).unwrap();
    let ces = series.lines().find(|l| l.contains(",ces,v1,all,all,")).unwrap();
    assert!(ces.ends_with(",up"), "{ces}");
}
