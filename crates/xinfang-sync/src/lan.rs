//! Finding the hall's server on the LAN (docs/sync.md "Finding the hub"): the server (a hall's
//! hub, `xinfang-city serve --announce`) announces `_xinfang._tcp.local.` over mDNS/DNS-SD with
//! TXT `hall=140521` (the halls it serves, comma-separated), `scheme=http|https` and the sync
//! protocol `proto=N`; the desk browses for a moment and lists what answered. Only an address
//! is learnt this way: enrolment still needs the one-time code, so a server that lies about
//! its hall gets nothing from a desk (the code is checked by the real server, the hall by the
//! enrolment's answer).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent, ServiceInfo};
use serde::Serialize;

use crate::wire::PROTOCOL_VERSION;

/// The DNS-SD service type of a 信访接待台 server.
pub const SERVICE_TYPE: &str = "_xinfang._tcp.local.";
/// How long a desk listens for answers unless told otherwise.
pub const BROWSE: Duration = Duration::from_secs(2);

/// Why announcing or browsing failed. `Display` is Chinese.
#[derive(Debug, thiserror::Error)]
pub enum LanError {
    #[error("无法在局域网上广播或查找服务器（mDNS）：{0}。请直接填写服务器地址。")]
    Mdns(String),
}

fn mdns<E: std::fmt::Display>(e: E) -> LanError {
    LanError::Mdns(e.to_string())
}

/// A server that answered on the LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundServer {
    /// The address to enrol with, e.g. `https://192.168.1.20:8750`.
    pub url: String,
    /// The halls it serves (a hub: its one hall).
    pub halls: Vec<String>,
    /// The computer's name as it announces it (`hub-pc.local.`), to tell two servers apart.
    pub host: String,
}

/// What the server announces: its instance `name`, the `halls` it serves, `scheme`, `port`;
/// `addrs` empty means every address of the computer's interfaces (listening on 0.0.0.0).
pub fn service_info(
    name: &str,
    host: &str,
    halls: &[String],
    scheme: &str,
    addrs: &[IpAddr],
    port: u16,
) -> Result<ServiceInfo, LanError> {
    let txt = [
        ("hall", halls.join(",")),
        ("scheme", scheme.to_owned()),
        ("proto", PROTOCOL_VERSION.to_string()),
    ];
    let host = if host.ends_with(".local.") {
        host.to_owned()
    } else {
        format!("{}.local.", host.trim_end_matches('.'))
    };
    let info = ServiceInfo::new(SERVICE_TYPE, name, &host, addrs, port, &txt[..]).map_err(mdns)?;
    Ok(if addrs.is_empty() {
        info.enable_addr_auto()
    } else {
        info
    })
}

/// A found server from an answer, if it is one of ours and complete.
pub fn found(service: &ResolvedService) -> Option<FoundServer> {
    let scheme = match service.get_property_val_str("scheme") {
        Some("http") => "http",
        Some("https") | None => "https",
        Some(_) => return None,
    };
    let halls: Vec<String> = service
        .get_property_val_str("hall")?
        .split(',')
        .map(str::trim)
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    // An IPv4 address first: what a clerk can read and type again; the lowest, so the answer
    // does not change from one browse to the next.
    let ip: IpAddr = match service.get_addresses_v4().into_iter().min() {
        Some(v4) => v4.into(),
        None => service
            .get_addresses()
            .iter()
            .map(|a| a.to_ip_addr())
            .min()?,
    };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    Some(FoundServer {
        url: format!("{scheme}://{host}:{}", service.get_port()),
        halls,
        host: service.get_hostname().to_owned(),
    })
}

/// A running announcement; withdrawn (goodbye packets) when dropped.
pub struct Announcement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("fullname", &self.fullname)
            .finish()
    }
}

/// Announces `info` on the LAN until the returned value is dropped.
pub fn announce(info: ServiceInfo) -> Result<Announcement, LanError> {
    let daemon = ServiceDaemon::new().map_err(mdns)?;
    let fullname = info.get_fullname().to_owned();
    daemon.register(info).map_err(mdns)?;
    Ok(Announcement { daemon, fullname })
}

impl Drop for Announcement {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
        let _ = self.daemon.shutdown();
    }
}

/// Listens for `wait` and returns the servers that answered, by address.
pub fn discover(wait: Duration) -> Result<Vec<FoundServer>, LanError> {
    let daemon = ServiceDaemon::new().map_err(mdns)?;
    let events = daemon.browse(SERVICE_TYPE).map_err(mdns)?;
    let end = Instant::now() + wait;
    let mut by_url = BTreeMap::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(service)) => {
                if let Some(f) = found(&service) {
                    by_url.insert(f.url.clone(), f);
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = daemon.stop_browse(SERVICE_TYPE);
    let _ = daemon.shutdown();
    Ok(by_url.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(info: ServiceInfo) -> ResolvedService {
        info.as_resolved_service()
    }

    #[test]
    fn the_announcement_carries_the_hall_scheme_and_protocol() {
        let info = service_info(
            "沁水县信访接待大厅",
            "hub-pc",
            &["140521".into()],
            "https",
            &["192.168.1.20".parse().unwrap()],
            8750,
        )
        .unwrap();
        assert_eq!(info.get_type(), SERVICE_TYPE);
        assert_eq!(info.get_hostname(), "hub-pc.local.");
        assert_eq!(info.get_property_val_str("hall"), Some("140521"));
        assert_eq!(info.get_property_val_str("scheme"), Some("https"));
        assert_eq!(
            info.get_property_val_str("proto"),
            Some(PROTOCOL_VERSION.to_string().as_str())
        );
        assert_eq!(
            found(&resolved(info)),
            Some(FoundServer {
                url: "https://192.168.1.20:8750".into(),
                halls: vec!["140521".into()],
                host: "hub-pc.local.".into(),
            })
        );
    }

    #[test]
    fn answers_are_read_carefully() {
        let at = |txt: &[(&str, &str)], addrs: &[IpAddr]| {
            let info = ServiceInfo::new(SERVICE_TYPE, "x", "x.local.", addrs, 8750, txt).unwrap();
            found(&resolved(info))
        };
        let lan: IpAddr = "10.0.0.5".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        // Several halls (a city server), the bad codes left out.
        let f = at(
            &[("hall", "140521,14052x,140525"), ("scheme", "http")],
            &[lan],
        )
        .unwrap();
        assert_eq!(f.halls, ["140521", "140525"]);
        assert_eq!(f.url, "http://10.0.0.5:8750");
        // IPv4 preferred; IPv6 in brackets when alone.
        assert_eq!(
            at(&[("hall", "140521")], &[v6, lan]).unwrap().url,
            "https://10.0.0.5:8750"
        );
        assert_eq!(
            at(&[("hall", "140521")], &[v6]).unwrap().url,
            "https://[fd00::2]:8750"
        );
        // Not one of ours: no hall, an unknown scheme, no address.
        assert_eq!(at(&[("scheme", "https")], &[lan]), None);
        assert_eq!(at(&[("hall", "140521"), ("scheme", "ftp")], &[lan]), None);
        assert_eq!(at(&[("hall", "140521")], &[]), None);
    }
}
