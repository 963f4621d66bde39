//! Users who think: each stack's users within its objectives, from its levels, in the terminal's rows and
//! on the main page.

use loadgen::capacity::{Percentile, Slo};
use report::Exporter;

use crate::util::{level, named, record};

/// A run of users thinking 1 s: `levels` of `(users, mean latency µs)`, judged against p99 <= 20 ms.
fn users_run(stack: &str, suite: &str, levels: &[(usize, u64)]) -> record::RunRecord {
    let levels: Vec<_> = levels.iter().map(|&(users, mean_us)| level(users, users as f64, mean_us)).collect();
    let mut run = record(stack, suite, &levels);
    for l in &mut run.levels {
        let load = l.load.as_mut().unwrap();
        load.options.think_s = Some(1.0);
        load.options.think_spread = Some("exponential".into());
    }
    let slo = Slo { latency_us: vec![(Percentile::P99, 20_000)], error_share: 0.001, ..Slo::default() };
    run.user_objectives.insert("health".into(), slo);
    run
}

#[test]
fn users_within_objectives_are_the_most_users_of_an_unbroken_run_of_met_levels() {
    // The fixture's p99 is about 1.5x the mean: 10 ms passes 20 ms, 16 ms does not.
    let slow = users_run("slow", "01", &[(10, 2_000), (50, 10_000), (100, 16_000), (200, 30_000)]);
    assert_eq!(slow.users_within("health"), Some((50, vec![10, 50, 100, 200])));
    // A level that meets them above one that missed does not count: the run is broken at 50.
    let uneven = users_run("uneven", "01", &[(10, 2_000), (50, 16_000), (100, 10_000)]);
    assert_eq!(uneven.users_within("health"), Some((10, vec![10, 50, 100])));
    let none = users_run("none", "01", &[(10, 16_000)]);
    assert_eq!(none.users_within("health"), Some((0, vec![10])));
    assert_eq!(slow.users_within("sleep"), None, "no objectives for users there");

    let report = report::build(&named(vec![slow, uneven, none]));
    let stacks: Vec<(&str, f64)> = report.users.iter().map(|u| (u.stack.as_str(), u.users.median)).collect();
    assert_eq!(stacks, [("slow", 50.0), ("uneven", 10.0), ("none", 0.0)], "most users first");
    let cells = report::users::cells(&report.users[0]);
    assert_eq!(cells[2], "50 (1 run) (p99 <= 20.00ms, errors <= 0.1%)");
    assert_eq!(cells[3], "1s exponential");
    assert_eq!(cells[4], "10, 50, 100, 200");
    let page = report::Html.render(&report);
    assert!(
        page.contains("<h2>Users who think</h2>") && page.contains("<a href=\"#users\">"),
        "the section and its link"
    );
    assert!(page.contains("50 (1 run) (p99 &lt;= 20.00ms"), "the row, escaped");
}
