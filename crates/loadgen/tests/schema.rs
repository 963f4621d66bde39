//! The JSON output matches the committed schema, in both modes.

use loadgen::RunLength;

use crate::util::{config_for, run, secs, Server, OK};

pub fn check(result: &loadgen::LoadResult) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema.json")).expect("schema.json is valid JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema.json is a valid JSON Schema");
    let value = serde_json::to_value(result).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let back: loadgen::LoadResult = serde_json::from_value(value).unwrap();
    assert_eq!(&back, result);
}

#[test]
fn closed_loop_output_matches_schema() {
    let server = Server::fixed(OK);
    let r = run(&config_for(&server, 2, RunLength::Duration(secs(1.0))));
    check(&r);
    assert!(r.rate.is_none() && r.latency_raw_us.is_none());
}

#[test]
fn rate_output_matches_schema() {
    let server = Server::fixed(OK);
    let r = run(&loadgen::Config { rate: Some(200.0), ..config_for(&server, 2, RunLength::Duration(secs(1.0))) });
    check(&r);
    assert!(r.rate.is_some() && r.latency_raw_us.is_some());
}

#[test]
fn schema_rejects_a_result_without_fixed_names() {
    let schema: serde_json::Value = serde_json::from_str(include_str!("../schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let server = Server::fixed(OK);
    let mut value = serde_json::to_value(run(&config_for(&server, 1, RunLength::Requests(5)))).unwrap();
    value.as_object_mut().unwrap().remove("latency_us");
    assert!(!validator.is_valid(&value));
}

#[test]
fn a_mix_output_matches_schema() {
    let server = Server::fixed(OK);
    let mix = vec![loadgen::Kind::get("a", 1, "/a"), loadgen::Kind::get("b", 1, "/b")];
    let r = run(&loadgen::Config { mix, ..config_for(&server, 2, RunLength::Requests(50)) });
    check(&r);
    assert_eq!(r.kinds.len(), 2);
}
