//! docs/openapi.yaml is generated from the code; this fails when the committed file is stale.
//! Regenerate with `make openapi` (or `XINFANG_UPDATE_OPENAPI=1 cargo test -p xinfang-city --test openapi`).

#[test]
fn committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml");
    let generated = xinfang_city::api::openapi_yaml();
    if std::env::var_os("XINFANG_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.yaml is stale: run `make openapi` and commit the result"
    );
}

#[test]
fn every_route_is_documented() {
    let yaml = xinfang_city::api::openapi_yaml();
    for path in [
        "/healthz",
        "/v1/enrol",
        "/v1/sync/state",
        "/v1/sync/push",
        "/v1/sync/events",
        "/v1/sync/pull",
        "/v1/sync/own",
        "/v1/city/quarantine",
        "/v1/reference",
        "/v1/city/halls",
        "/v1/city/repeat-visits",
        "/v1/city/stats",
        "/v1/city/publicity",
        "/v1/city/audit",
        "/v1/audit/push",
    ] {
        assert!(
            yaml.contains(&format!("  {path}:")),
            "{path} missing from the OpenAPI document"
        );
    }
}
