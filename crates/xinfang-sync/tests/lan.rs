//! Announce a server on the LAN in-process and find it again by browsing, over real mDNS
//! multicast on this computer's interfaces (docs/sync.md "Finding the hub").

use std::time::Duration;

use xinfang_sync::lan::{self, FoundServer};

#[test]
fn an_announced_hub_is_found_with_its_hall() {
    // A port nobody else announces: the test finds its own announcement among any others.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let info = lan::service_info(
        &format!("沁水县大厅-{port}"),
        &format!("xinfang-test-{port}"),
        &["140521".to_owned()],
        "http",
        &[],
        port,
    )
    .unwrap();
    let _announced = lan::announce(info).unwrap();
    let found: Vec<FoundServer> = lan::discover(Duration::from_secs(3))
        .unwrap()
        .into_iter()
        .filter(|f| f.url.ends_with(&format!(":{port}")))
        .collect();
    assert!(!found.is_empty(), "the announcement was not found");
    for f in &found {
        assert_eq!(f.halls, ["140521"]);
        assert!(f.url.starts_with("http://"), "{f:?}");
        assert_eq!(f.host, format!("xinfang-test-{port}.local."));
    }
}
