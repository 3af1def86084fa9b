//! The desk's side of the protocol (docs/sync.md): enrol once, then sync = push pending local
//! changes, then pull the hall's changes. Blocking (reqwest + rustls); from async code call it
//! inside `tokio::task::spawn_blocking`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::audit::{AuditPushRequest, AuditPushResponse};
use crate::hlc::{MAX_DRIFT_MS, wall_ms};
use crate::replica::{DeskReplica, Secret, SnapshotPosition};
use crate::wire::{
    ApiError, Change, DeviceState, EnrolRequest, EnrolResponse, MAX_PULL_CHANGES,
    OwnChangesRequest, OwnChangesResponse, PROTOCOL_HEADER, PROTOCOL_VERSION, PersonMattersRequest,
    PersonMattersResponse, PullRequest, PullResponse, PushRequest, PushResponse, ReferenceBundle,
    RemoteChange, SCHEMA_HEADER, SetAside, SnapshotRequest, SnapshotResponse,
};

/// Env var that overrides the stored server address (e.g. when the city moves its server).
pub const SERVER_URL_ENV: &str = "XINFANG_SERVER_URL";
/// Env var naming a PEM file of extra CA certificates to trust (a city server with a
/// certificate from its own CA), in addition to the built-in web roots.
pub const CA_FILE_ENV: &str = "XINFANG_CA_FILE";
/// Changes per push request.
pub const PUSH_BATCH: usize = 1000;
/// Bytes of change fields per push request, at most ([`crate::wire::MAX_PAGE_BYTES`]: half
/// the server's body limit), so a batch of large changes (visitors' photos, tens of KB each) is
/// cut into several pushes instead of refused as too large, forever.
pub const PUSH_BYTES: usize = crate::wire::MAX_PAGE_BYTES;

/// Cuts `changes` after the last one that fits in `budget` bytes of fields (always keeping
/// the first, which the server takes alone if need be); true when it cut any.
pub fn cut_to_bytes(changes: &mut Vec<Change>, budget: usize) -> bool {
    let keep = crate::wire::fitting(changes, budget, crate::wire::change_bytes);
    let cut = keep < changes.len();
    changes.truncate(keep);
    cut
}
/// Audit entries per audit push request.
pub const AUDIT_BATCH: usize = 500;

/// Why a sync or enrolment did not succeed. `Display` is Chinese, for the clerk.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "本机尚未登记到服务器：请向市局或大厅服务器的管理员索取一次性登记码，由本机管理员在“设置 → 连接服务器”中填写服务器地址和登记码。"
    )]
    NotEnrolled,
    #[error("服务器地址“{0}”无效：{1}。请填写形如 https://xinfang.example.gov.cn 的地址。")]
    BadUrl(String, String),
    #[error(
        "服务器地址 {0} 使用不加密的 http：只有本机（127.0.0.1、localhost）和本大厅局域网内的地址（如 192.168.x.x、10.x.x.x、大厅服务器的机器名）可以这样连接。请改用 https:// 开头的地址。"
    )]
    InsecureUrl(String),
    #[error("无法连接市局服务器 {0}：{1}。请检查网络；网络恢复后再同步即可，数据不会丢失。")]
    Offline(String, String),
    #[error(
        "无法使用环境变量 XINFANG_CA_FILE 指定的证书文件 {0}：{1}。请把它设为市局提供的 PEM 格式 CA 证书文件的路径，或删除这个环境变量。"
    )]
    CaFile(String, String),
    #[error(
        "本机保存的 CA 证书无法使用（{0}）：请管理员在“设置 → 连接服务器”中重新选择市局提供的 CA 证书文件。"
    )]
    TrustedCa(String),
    #[error(
        "服务器 {0} 的 TLS 证书不受本机信任（{1}）。请核对服务器地址；如果市局使用自建的证书，请向市局管理员索取 CA 证书文件（.pem 或 .crt），由本机管理员在“设置 → 连接服务器”中选择它。"
    )]
    Untrusted(String, String),
    #[error("{message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("市局服务器的应答无法识别（{0}）：请确认服务器地址正确、版本匹配。")]
    Protocol(String),
    #[error(
        "本机审计日志只到第 {local} 条，而市局服务器已收到本机的第 {server} 条：本机数据可能是从旧备份恢复的，审计日志暂不上传（来访数据照常同步）。请联系市局管理员核对。"
    )]
    AuditBehind { local: i64, server: i64 },
    #[error("本机数据库出错：{0}")]
    Local(String),
    #[error(
        "本机数据是从另一台电脑或另一个目录复制来的：两份数据以同一身份同步会互相混淆，同步已暂停，数据都在本机。若原来那台电脑已停用、由本机接替，请管理员在“设置 → 连接服务器”中点“由本机接替”确认；若两台都要使用，请在本机重新初始化并向市局申请新的登记码。"
    )]
    Moved,
}

impl SyncError {
    /// Whether the server refused this device's token (revoked or unknown).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, SyncError::Server { status: 401, .. })
    }

    /// Whether the attempt failed for lack of a connection (worth retrying later as is).
    pub fn is_offline(&self) -> bool {
        matches!(self, SyncError::Offline(..) | SyncError::Untrusted(..))
    }

    /// Whether the server refuses this desk's protocol version (请升级).
    pub fn is_upgrade_required(&self) -> bool {
        matches!(self, SyncError::Server { status: 426, .. })
    }
}

fn local<E: std::fmt::Display>(e: E) -> SyncError {
    SyncError::Local(e.to_string())
}

/// Checks a server address: https anywhere; plain http only to this computer or to the hall's
/// own LAN (issue 17: `xinfang enrol --server http://HUB:8750`), where a hall hub serves its
/// desks — never to an address or dotted name out on the network, where the city is.
pub fn check_server_url(raw: &str) -> Result<url::Url, SyncError> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| SyncError::BadUrl(raw.into(), e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let near = url.host().is_some_and(|h| is_loopback_or_lan(&h));
            if !near {
                return Err(SyncError::InsecureUrl(raw.into()));
            }
        }
        other => {
            return Err(SyncError::BadUrl(
                raw.into(),
                format!("不支持的协议 {other}"),
            ));
        }
    }
    if url.host().is_none() {
        return Err(SyncError::BadUrl(raw.into(), "缺少主机名".into()));
    }
    Ok(url)
}

/// This computer, or a host only the local network can name: a private or link-local address
/// (RFC 1918, RFC 4193, 169.254/16, fe80::/10), an mDNS name (`hub.local`, what discovery
/// finds) or a single-label machine name (`HUB`).
fn is_loopback_or_lan(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".local") || (!d.is_empty() && !d.contains('.'))
        }
        url::Host::Ipv4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        url::Host::Ipv6(ip) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    }
}

/// A connection to the city server.
pub struct Client {
    base: url::Url,
    http: reqwest::blocking::Client,
    token: Option<Secret>,
    /// The desk's store schema version, sent with every request.
    schema: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// How long a client waits, by what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// A sync, an enrolment, a download: 5 s to connect, 60 s per answer.
    Sync,
    /// A question asked while someone waits at the counter ([`Client::quick`]).
    Quick,
    /// The hall's queue numbers and calls ([`Client::hall`]).
    Hall,
    /// The live notifications ([`Client::live`]).
    Live,
}

impl Patience {
    fn timeouts(self) -> (Duration, Duration) {
        match self {
            Patience::Sync => (Duration::from_secs(5), Duration::from_secs(60)),
            Patience::Quick => (Duration::from_secs(2), Duration::from_secs(4)),
            Patience::Hall => (Duration::from_millis(1000), Duration::from_millis(1500)),
            Patience::Live => (Duration::from_secs(5), EVENTS_READ_TIMEOUT),
        }
    }
}

impl Client {
    pub fn new(server_url: &str, token: Option<Secret>) -> Result<Client, SyncError> {
        Client::build(server_url, token, Patience::Sync, None)
    }

    /// A client for a question asked while someone waits at the counter (the city's matters of
    /// a person at registration): it gives up soon, and the desk answers from what it last
    /// heard.
    pub fn quick(server_url: &str, token: Option<Secret>) -> Result<Client, SyncError> {
        Client::build(server_url, token, Patience::Quick, None)
    }

    /// A client for the hall's queue numbers and calls (issue 17): the hub answers at once on
    /// the LAN, so after 1.5 s the desk goes on alone (its own number, a call not made).
    pub fn hall(server_url: &str, token: Option<Secret>) -> Result<Client, SyncError> {
        Client::build(server_url, token, Patience::Hall, None)
    }

    /// A client that trusts, besides the built-in web roots and `XINFANG_CA_FILE`, the CA
    /// certificates of `ca_pem` (the city's own CA, kept in the desk's store).
    pub fn build(
        server_url: &str,
        token: Option<Secret>,
        patience: Patience,
        ca_pem: Option<&str>,
    ) -> Result<Client, SyncError> {
        let base = check_server_url(server_url)?;
        let (connect, total) = patience.timeouts();
        let mut builder = reqwest::blocking::Client::builder();
        for cert in extra_roots()? {
            builder = builder.add_root_certificate(cert);
        }
        if let Some(pem) = ca_pem {
            for cert in parse_ca(pem.as_bytes()).map_err(SyncError::TrustedCa)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .use_rustls_tls()
            .https_only(base.scheme() == "https")
            .connect_timeout(connect)
            .timeout(total)
            .user_agent(concat!("xinfang-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Offline(server_url.into(), e.to_string()))?;
        Ok(Client {
            base,
            http,
            token,
            schema: 0,
        })
    }

    /// Sends `schema` (the desk store's schema version) with every request.
    pub fn with_schema(mut self, schema: u32) -> Client {
        self.schema = schema;
        self
    }

    fn url(&self, path: &str) -> Result<url::Url, SyncError> {
        self.base
            .join(path)
            .map_err(|e| SyncError::BadUrl(self.base.to_string(), e.to_string()))
    }

    /// The token and the version headers every request carries.
    fn authorised(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        }
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header(SCHEMA_HEADER, self.schema.to_string())
    }

    fn host(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<T, SyncError> {
        let host = self.host();
        let resp = self
            .authorised(req)
            .send()
            .map_err(|e| send_error(&host, &e))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .map_err(|e| SyncError::Offline(host.clone(), short_reason(&e)))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| SyncError::Protocol(e.to_string()));
        }
        Err(server_error(status, &body))
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        self.send(self.http.get(self.url(path)?))
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SyncError> {
        self.send(self.http.post(self.url(path)?).json(body))
    }

    pub fn enrol(&self, req: &EnrolRequest) -> Result<EnrolResponse, SyncError> {
        self.post("/v1/enrol", req)
    }

    /// `GET /healthz`: the server answers, and its version.
    pub fn health(&self) -> Result<crate::wire::Health, SyncError> {
        self.get("/healthz")
    }

    pub fn state(&self) -> Result<DeviceState, SyncError> {
        self.get("/v1/sync/state")
    }

    pub fn push(&self, req: &PushRequest) -> Result<PushResponse, SyncError> {
        self.post("/v1/sync/push", req)
    }

    pub fn audit_push(&self, req: &AuditPushRequest) -> Result<AuditPushResponse, SyncError> {
        self.post("/v1/audit/push", req)
    }

    pub fn pull(&self, req: &PullRequest) -> Result<PullResponse, SyncError> {
        self.post("/v1/sync/pull", req)
    }

    pub fn snapshot(&self, req: &SnapshotRequest) -> Result<SnapshotResponse, SyncError> {
        self.post("/v1/sync/snapshot", req)
    }

    pub fn own_changes(&self, req: &OwnChangesRequest) -> Result<OwnChangesResponse, SyncError> {
        self.post("/v1/sync/own", req)
    }

    pub fn reference(&self) -> Result<ReferenceBundle, SyncError> {
        self.get("/v1/reference")
    }

    pub fn person_matters(
        &self,
        req: &PersonMattersRequest,
    ) -> Result<PersonMattersResponse, SyncError> {
        self.post("/v1/sync/person-matters", req)
    }

    // A hall hub's calls to its city (docs/sync.md "Hall hub").

    pub fn hub_devices(
        &self,
        req: &crate::wire::HubDevicesRequest,
    ) -> Result<crate::wire::HubDevicesResponse, SyncError> {
        self.post("/v1/hub/devices", req)
    }

    pub fn hub_push(&self, req: &crate::wire::HubPushRequest) -> Result<PushResponse, SyncError> {
        self.post("/v1/hub/push", req)
    }

    pub fn hub_pull(
        &self,
        req: &crate::wire::HubPullRequest,
    ) -> Result<OwnChangesResponse, SyncError> {
        self.post("/v1/hub/pull", req)
    }

    pub fn hub_audit(
        &self,
        req: &crate::wire::HubAuditRequest,
    ) -> Result<AuditPushResponse, SyncError> {
        self.post("/v1/hub/audit", req)
    }

    /// The latest update packages the server holds (`GET /v1/updates/manifest`).
    pub fn update_manifest(&self) -> Result<crate::update::UpdateManifest, SyncError> {
        self.get("/v1/updates/manifest")
    }

    /// The bytes of one package (`GET /v1/updates/package/{version}/{kind}`), at most
    /// `max_bytes` (what the manifest said): a longer answer is cut there and fails the check.
    pub fn update_package(
        &self,
        version: &str,
        kind: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, SyncError> {
        use std::io::Read;
        let host = self.host();
        let mut url = self.url("/v1/updates/package/")?;
        url.path_segments_mut()
            .map_err(|()| SyncError::BadUrl(host.clone(), "不能作为基础地址".into()))?
            .pop_if_empty()
            .push(version)
            .push(kind);
        let resp = self
            .authorised(self.http.get(url))
            // A package is tens of megabytes: the client's whole-answer limit is for JSON.
            .timeout(Duration::from_secs(30 * 60))
            .send()
            .map_err(|e| send_error(&host, &e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp
                .bytes()
                .map_err(|e| SyncError::Offline(host.clone(), short_reason(&e)))?;
            return Err(server_error(status, &body));
        }
        let mut bytes = Vec::new();
        resp.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| SyncError::Offline(host, e.to_string()))?;
        Ok(bytes)
    }

    /// The hall's next queue number (`POST /v1/hall/queue-number`).
    pub fn queue_number(
        &self,
        req: &crate::queue::QueueNumberRequest,
    ) -> Result<crate::queue::QueueNumber, SyncError> {
        self.post("/v1/hall/queue-number", req)
    }

    /// Calls a number to a room on the hall's call screen (`POST /v1/hall/call`).
    pub fn call(
        &self,
        req: &crate::queue::CallRequest,
    ) -> Result<crate::queue::HallCall, SyncError> {
        self.post("/v1/hall/call", req)
    }

    /// A client for [`Client::events`]: no limit on the whole answer, which never ends, but
    /// [`EVENTS_READ_TIMEOUT`] on each read, so a connection that died silently is noticed.
    pub fn live(server_url: &str, token: Secret) -> Result<Client, SyncError> {
        Client::build(server_url, Some(token), Patience::Live, None)
    }

    /// Opens the live notifications of the desk's hall (`GET /v1/sync/events`). Use a
    /// [`Client::live`]: another client gives up on the stream after its own timeout.
    pub fn events(&self) -> Result<EventStream, SyncError> {
        let host = self.host();
        let resp = self
            .authorised(self.http.get(self.url("/v1/sync/events")?))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .map_err(|e| send_error(&host, &e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().unwrap_or_default();
            return Err(server_error(status, &body));
        }
        Ok(EventStream {
            reader: std::io::BufReader::new(resp),
            host,
        })
    }
}

/// Without a byte for this long (the server sends a keep-alive every 15 s), the live stream
/// is taken for dead and opened again.
pub const EVENTS_READ_TIMEOUT: Duration = Duration::from_secs(45);

/// What the live stream of the hall says (docs/sync.md "Live notifications"): never what
/// changed, only that something did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// The subscription is live: what happened before it is caught up by one sync.
    Ready,
    /// Another device's changes of the hall were stored, up to this server sequence.
    Changed { server_seq: i64 },
    /// The server's keep-alive: nothing happened, the connection is alive.
    KeepAlive,
}

/// The live notifications, read as they come (blocking; a thread of its own).
pub struct EventStream {
    reader: std::io::BufReader<reqwest::blocking::Response>,
    host: String,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("host", &self.host)
            .finish()
    }
}

impl EventStream {
    /// The next event; an error when the connection ends or stays silent past
    /// [`EVENTS_READ_TIMEOUT`] (open it again after a pause).
    pub fn next_event(&mut self) -> Result<LiveEvent, SyncError> {
        use std::io::BufRead;
        let mut frame = SseFrame::default();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::TimedOut
                    || e.to_string().contains("timed out")
                {
                    "连接超时"
                } else {
                    "连接中断"
                };
                SyncError::Offline(self.host.clone(), why.into())
            })?;
            if n == 0 {
                return Err(SyncError::Offline(self.host.clone(), "连接中断".into()));
            }
            if let Some(ev) = frame.line(&line) {
                return Ok(ev);
            }
        }
    }
}

/// One Server-Sent Events frame being read: `event:` and `data:` lines up to a blank line;
/// a comment line (`:`) is the keep-alive. What we need of the format is this much, so it is
/// parsed here rather than through an async SSE crate the blocking client would have to drive.
#[derive(Debug, Default)]
struct SseFrame {
    event: Option<String>,
    data: String,
}

impl SseFrame {
    /// Takes one line (with or without its line end); returns the event a blank line ends.
    fn line(&mut self, line: &str) -> Option<LiveEvent> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            let frame = std::mem::take(self);
            return match frame.event.as_deref() {
                Some("ready") => Some(LiveEvent::Ready),
                Some("changed") => {
                    let server_seq = serde_json::from_str::<serde_json::Value>(&frame.data)
                        .ok()
                        .and_then(|v| v.get("server_seq")?.as_i64())
                        .unwrap_or(0);
                    Some(LiveEvent::Changed { server_seq })
                }
                // An event this desk does not know yet (a newer server): ignored.
                _ => None,
            };
        }
        if line.starts_with(':') {
            return Some(LiveEvent::KeepAlive);
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        None
    }
}

/// A refusal's answer as a [`SyncError`]: the server's Chinese message when it sent one.
fn server_error(status: reqwest::StatusCode, body: &[u8]) -> SyncError {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(err) => SyncError::Server {
            status: status.as_u16(),
            code: err.code,
            message: err.message,
        },
        Err(_) => SyncError::Server {
            status: status.as_u16(),
            code: "http_error".into(),
            message: format!("市局服务器返回错误 {status}：请稍后重试，或联系市局管理员。"),
        },
    }
}

/// The live notifications of the enrolled desk `replica` (no network but the stream; the
/// caller may drop the store before reading it).
pub fn live_events<R: DeskReplica>(replica: &mut R) -> Result<EventStream, SyncError> {
    desk_client_for(replica, Patience::Live)?.events()
}

/// The certificates of a PEM file or text; the reason in Chinese when there are none.
pub fn parse_ca(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|_| "不是 PEM 格式的证书文件".to_owned())?;
    if certs.is_empty() {
        return Err("文件里没有 PEM 格式的证书".into());
    }
    // reqwest takes the PEM armour on trust; a body that is no certificate fails only at the
    // first connection, so it is decoded here.
    x509_cert::Certificate::load_pem_chain(pem).map_err(|_| "文件里的证书已损坏".to_owned())?;
    Ok(certs)
}

/// The CA certificates of `XINFANG_CA_FILE`, if set.
fn extra_roots() -> Result<Vec<reqwest::Certificate>, SyncError> {
    let Some(path) = std::env::var_os(CA_FILE_ENV).filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let shown = path.to_string_lossy().into_owned();
    let pem = std::fs::read(&path).map_err(|e| SyncError::CaFile(shown.clone(), e.to_string()))?;
    parse_ca(&pem).map_err(|why| SyncError::CaFile(shown, why))
}

/// A failed request: an untrusted certificate, or no connection.
fn send_error(host: &str, e: &reqwest::Error) -> SyncError {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        chain.push_str(&err.to_string());
        chain.push(' ');
        source = err.source();
    }
    if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        let why = if chain.contains("UnknownIssuer") {
            "签发机构未知"
        } else if chain.contains("NotValidForName") {
            "证书与服务器名称不符"
        } else if chain.contains("Expired") {
            "证书已过期"
        } else {
            "证书无效"
        };
        return SyncError::Untrusted(host.to_owned(), why.to_owned());
    }
    SyncError::Offline(host.to_owned(), short_reason(e))
}

fn short_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "连接超时".into()
    } else if e.is_connect() {
        "连接被拒绝或网络不通".into()
    } else {
        "连接中断".into()
    }
}

/// The server address to use: env `XINFANG_SERVER_URL` when set, else the stored one.
pub fn effective_server_url(stored: Option<&str>) -> Option<String> {
    std::env::var(SERVER_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| stored.map(str::to_owned))
}

/// Enrols the desk with a one-time code and stores the server address and token.
pub fn enrol<R: DeskReplica>(
    replica: &mut R,
    server_url: &str,
    code: &str,
    device_name: &str,
) -> Result<EnrolResponse, SyncError> {
    let ca = replica.trusted_ca().map_err(local)?;
    let client = Client::build(server_url, None, Patience::Sync, ca.as_deref())?
        .with_schema(replica.schema_version());
    let resp = client.enrol(&EnrolRequest {
        code: code.trim().to_owned(),
        device_id: replica.device_id().to_owned(),
        hall_code: replica.hall_code().to_owned(),
        device_name: device_name.to_owned(),
        hall_id_key: replica.hall_id_key_offer().map_err(local)?,
        root_keys: replica.root_key_offer().map_err(local)?,
    })?;
    if resp.device_id != replica.device_id() || resp.hall_code != replica.hall_code() {
        return Err(SyncError::Protocol("登记结果与本机不符".into()));
    }
    // The hall's key before the token: a desk holding a token pushes, and what it pushes
    // must carry the ids every desk of the hall derives.
    if let Some(key) = &resp.hall_id_key {
        replica.adopt_hall_id_key(key).map_err(local)?;
    }
    replica.adopt_hall_roots(&resp.hall_roots).map_err(local)?;
    if let Some(letter) = &resp.queue_letter {
        replica.adopt_queue_letter(letter).map_err(local)?;
    }
    if let Some(key) = &resp.update_key {
        replica.pin_update_key(key).map_err(local)?;
    }
    replica
        .save_enrolment(server_url.trim(), &Secret::new(resp.token.clone()))
        .map_err(local)?;
    tracing::info!(device_id = %resp.device_id, hall = %resp.hall_code, "desk enrolled");
    Ok(resp)
}

/// What one full sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Local changes the server stored for the first time.
    pub pushed: u64,
    /// Remote changes applied here.
    pub pulled: u64,
    /// Local changes still not confirmed by the server (0 after a full sync).
    pub pending: i64,
    /// The server's highest sequence number when the last pull was answered.
    pub server_cursor: i64,
    /// Per-device pull cursors after this sync.
    pub cursors: BTreeMap<String, i64>,
    /// Audit entries the server stored for the first time.
    pub audit_pushed: u64,
    /// Audit entries the server has not acknowledged.
    pub audit_pending: i64,
    /// Why the audit entries were not all accepted (in Chinese), e.g. the server found the
    /// chain broken. The changes synced regardless.
    pub audit_error: Option<String>,
    /// This desk's own changes taken back from the server: it was restored from a backup
    /// that lacked them (its later changes were renumbered after them and pushed).
    pub recovered: u64,
    /// Records (and the changes of people and staff) a new desk took from the city's snapshot
    /// of its hall instead of replaying the hall's history (docs/sync.md "Snapshot").
    pub snapshot: u64,
    /// Changes the server set aside instead of applying, and why (in Chinese).
    pub set_aside: Vec<SetAside>,
    /// Why pushing stopped (in Chinese); the pull ran regardless.
    pub push_error: Option<String>,
    /// 本机时间不准: the desk's clock differs from the server's by more than the allowed drift
    /// (in Chinese). A desk ahead does not push until its clock is set right.
    pub clock_error: Option<String>,
    /// Desk clock minus server clock, in seconds, when beyond the allowed drift.
    pub clock_skew_secs: Option<i64>,
}

impl SyncReport {
    /// What the clerk should know although the sync ran (in Chinese), one line each.
    pub fn warning(&self) -> Option<String> {
        let mut lines: Vec<String> = Vec::new();
        lines.extend(self.clock_error.clone());
        lines.extend(self.push_error.clone());
        if !self.set_aside.is_empty() {
            lines.push(set_aside_text(&self.set_aside));
        }
        lines.extend(self.audit_error.clone());
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// The set-aside changes as one Chinese sentence.
pub fn set_aside_text(set_aside: &[SetAside]) -> String {
    let reasons: Vec<&str> = set_aside.iter().map(|s| s.reason.as_str()).collect();
    format!(
        "市局服务器暂存了本机的 {} 条变更，未予采用（其余变更照常同步）：{}",
        set_aside.len(),
        reasons.join("；")
    )
}

/// How far the desk's clock is off the server's, as a Chinese message, when beyond the drift.
fn clock_message(skew_ms: i64) -> String {
    let mins = skew_ms.unsigned_abs() / 60_000;
    let amount = if mins >= 2 * 24 * 60 {
        format!("{} 天", mins / (24 * 60))
    } else if mins >= 120 {
        format!("{} 小时", mins / 60)
    } else {
        format!("{mins} 分钟")
    };
    if skew_ms > 0 {
        format!(
            "本机时间不准：比市局服务器快约 {amount}。请校准本机的日期和时间；校准之前本机的登记暂不上传（数据保留在本机，不会丢失）。"
        )
    } else {
        format!(
            "本机时间不准：比市局服务器慢约 {amount}。请校准本机的日期和时间，否则本机的修改可能被其他接待台较早的修改覆盖。"
        )
    }
}

/// A [`Client::quick`] for the enrolled desk `replica`, for a question asked while someone
/// waits (no network here: the caller asks it without holding the store).
pub fn quick_client<R: DeskReplica>(replica: &mut R) -> Result<Client, SyncError> {
    desk_client_for(replica, Patience::Quick)
}

/// A [`Client::new`] for the enrolled desk `replica` (its city or its hall's hub), asked
/// without holding the store (an update package takes minutes to download).
pub fn desk_client<R: DeskReplica>(replica: &mut R) -> Result<Client, SyncError> {
    desk_client_for(replica, Patience::Sync)
}

/// A [`Client::hall`] for the enrolled desk `replica` (its city or its hall's hub), asked
/// without holding the store.
pub fn hall_client<R: DeskReplica>(replica: &mut R) -> Result<Client, SyncError> {
    desk_client_for(replica, Patience::Hall)
}

/// A client of the enrolled desk `replica`: its server, token, trusted CA and schema.
fn desk_client_for<R: DeskReplica>(
    replica: &mut R,
    patience: Patience,
) -> Result<Client, SyncError> {
    let (url, token) = enrolled(replica)?;
    let ca = replica.trusted_ca().map_err(local)?;
    Ok(Client::build(&url, Some(token), patience, ca.as_deref())?
        .with_schema(replica.schema_version()))
}

/// The server address and token of the enrolled desk `replica`; a copied store is refused.
fn enrolled<R: DeskReplica>(replica: &mut R) -> Result<(String, Secret), SyncError> {
    let settings = replica
        .sync_settings()
        .map_err(local)?
        .ok_or(SyncError::NotEnrolled)?;
    // A copy of an enrolled store elsewhere would sync as the same desk as the original.
    if replica.moved().map_err(local)? {
        return Err(SyncError::Moved);
    }
    let url = effective_server_url(Some(&settings.server_url)).unwrap_or(settings.server_url);
    Ok((url, settings.token))
}

/// One full sync: recover own changes a restore lost, push everything pending, push audit
/// entries, then pull until nothing more is waiting. Every step is idempotent, so a sync cut
/// anywhere is finished by the next one. A refused push (or a clock too far ahead to push) does
/// not skip the pull.
pub fn sync_once<R: DeskReplica>(replica: &mut R) -> Result<SyncReport, SyncError> {
    let client = desk_client_for(replica, Patience::Sync)?;

    let state = client.state()?;
    if state.device_id != replica.device_id() {
        return Err(SyncError::Protocol("服务器认出的设备与本机不符".into()));
    }
    // A desk enrolled before the city handed out hall id keys takes its hall's now, before
    // it pushes (its pushed ids stay as they are).
    if let Some(key) = &state.hall_id_key {
        replica.adopt_hall_id_key(key).map_err(local)?;
    }
    // The hall's root keys before anything is pulled (servers that predate them send none:
    // the desk keeps those it has).
    if let Some(letter) = &state.queue_letter {
        replica.adopt_queue_letter(letter).map_err(local)?;
    }
    // Pinned once: a key the state names later (another key) is never taken.
    if let Some(key) = &state.update_key {
        replica.pin_update_key(key).map_err(local)?;
    }
    if !state.hall_roots.is_empty() {
        replica.adopt_hall_roots(&state.hall_roots).map_err(local)?;
    }
    // The desk's clock against the server's: ahead, it would stamp changes the server sets
    // aside, so it keeps them until the clock is set right; behind, it only warns.
    let now = wall_ms();
    let skew = state.server_time_ms.map(|t| now.saturating_sub(t));
    let clock_off = skew.filter(|s| s.abs() > MAX_DRIFT_MS);
    let clock_ahead = clock_off.is_some_and(|s| s > 0);
    if clock_off.is_none() {
        // Unpushed changes stamped while the clock was wrong get fresh timestamps.
        let n = replica.repair_clock(now).map_err(local)?;
        if n > 0 {
            tracing::warn!(
                restamped = n,
                "unpushed changes stamped in the future re-stamped"
            );
        }
    }

    // A restored desk first takes back its own changes, with the hall's, in the order they
    // reached the server (each may depend on the other's), then pushes what it wrote since.
    let own_back = recover_plan(&client, replica, state.server_max_seq)?;
    let recovered = own_back.len() as u64;
    let mut pulled = 0u64;
    let mut server_cursor = state.server_seq;
    if !own_back.is_empty() {
        let (n, cursor, _) = pull_all(&client, replica, own_back)?;
        pulled += n;
        server_cursor = server_cursor.max(cursor);
        tracing::warn!(
            recovered,
            "desk restored from an older state: own changes taken back from the server"
        );
    }
    // The server's count is the truth: after a cut after the server committed, this skips
    // what it already has; after a lost local mark, it starts where the server stands.
    let mut pushed_seq = state.server_max_seq;
    if replica.pushed_seq().map_err(local)? != pushed_seq {
        replica.set_pushed_seq(pushed_seq).map_err(local)?;
    }
    let mut pushed = 0u64;
    let mut set_aside = Vec::new();
    let mut push_error = None;
    // A clock too far ahead: the changes wait on the desk (they would be set aside).
    let mut more = !clock_ahead;
    while more {
        let mut changes = replica
            .local_changes(pushed_seq, PUSH_BATCH)
            .map_err(local)?;
        if changes.is_empty() {
            break;
        }
        more = changes.len() == PUSH_BATCH;
        more |= cut_to_bytes(&mut changes, PUSH_BYTES);
        let audit_head = replica.audit_head().map_err(local)?;
        let resp = match client.push(&PushRequest {
            changes,
            audit_head,
        }) {
            Ok(r) => r,
            Err(e) if e.is_offline() || e.is_upgrade_required() || e.is_unauthorized() => {
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(device_id = %state.device_id, "push refused; pulling regardless");
                push_error = Some(format!("本机变更未能上传：{e}"));
                break;
            }
        };
        pushed += resp.accepted;
        set_aside.extend(resp.set_aside);
        if resp.server_max_seq <= pushed_seq {
            return Err(SyncError::Protocol("服务器没有接收推送的变更".into()));
        }
        pushed_seq = resp.server_max_seq;
        replica.set_pushed_seq(pushed_seq).map_err(local)?;
    }

    // Audit entries after the changes. A refusal (a broken chain) is reported, but does not
    // stop the hall's changes from syncing; a lost connection ends this sync as any other.
    let (audit_pushed, audit_error) = match push_audit(&client, replica, state.audit_max_seq) {
        Ok(n) => (n, None),
        Err(e) if e.is_offline() => return Err(e),
        Err(e) => {
            tracing::warn!(device_id = %state.device_id, "audit push refused");
            let why = match &e {
                SyncError::Server { .. } => format!("审计日志未被市局服务器接收：{e}"),
                _ => e.to_string(),
            };
            (0, Some(why))
        }
    };

    // A new desk starts from the hall's records as the city holds them, then pulls what
    // came after.
    let snapshot = take_snapshot(&client, replica)?;
    let (n, cursor, cursors) = pull_all(&client, replica, Vec::new())?;
    pulled += n;
    server_cursor = server_cursor.max(cursor);
    // City reference data, when the server has another version than the one kept here.
    if let Some(version) = &state.reference_version
        && replica.reference_version().map_err(local)?.as_ref() != Some(version)
    {
        let bundle = client.reference()?;
        replica.save_reference(&bundle).map_err(local)?;
        tracing::info!(version = %bundle.version, "city reference data updated");
    }
    // What the server now holds need not stay in the logs; a failure here loses nothing
    // (the rows stay) and does not fail the sync.
    if let Err(e) = replica.compact() {
        tracing::warn!(error = %e, "compacting the change logs failed");
    }
    let pending = replica.last_local_seq().map_err(local)? - pushed_seq;
    let audit_pending = audit_pending(replica);
    tracing::info!(
        pushed,
        pulled,
        pending,
        recovered,
        snapshot,
        set_aside = set_aside.len(),
        server_cursor,
        audit_pushed,
        audit_pending,
        clock_skew_ms = clock_off,
        "sync finished"
    );
    Ok(SyncReport {
        pushed,
        pulled,
        pending,
        server_cursor,
        cursors,
        audit_pushed,
        audit_pending,
        audit_error,
        recovered,
        snapshot,
        set_aside,
        push_error,
        clock_error: clock_off.map(clock_message),
        clock_skew_secs: clock_off.map(|s| s / 1000),
    })
}

/// Pulls until nothing more is waiting, each page applied with its new cursors in one
/// transaction. `own_back` (this desk's own changes taken back after a restore, in sequence
/// order) are merged into the pages by server sequence, so a change is applied after those it
/// depends on, whichever device made them. Returns (changes applied, the server's last
/// sequence, the cursors).
fn pull_all<R: DeskReplica>(
    client: &Client,
    replica: &mut R,
    own_back: Vec<RemoteChange>,
) -> Result<(u64, i64, BTreeMap<String, i64>), SyncError> {
    let mut own_back = std::collections::VecDeque::from(own_back);
    let mut pulled = 0u64;
    let mut server_cursor = 0;
    loop {
        let cursors = replica.pull_cursors().map_err(local)?;
        let resp = client.pull(&PullRequest {
            cursors,
            limit: Some(MAX_PULL_CHANGES),
            hall_code: None,
        })?;
        server_cursor = server_cursor.max(resp.server_seq);
        let upto = match resp.changes.last() {
            Some(c) if resp.more => c.server_seq,
            _ => i64::MAX,
        };
        let mut page = resp.changes;
        while own_back.front().is_some_and(|o| o.server_seq <= upto) {
            page.extend(own_back.pop_front());
        }
        // Stable: own changes keep their sequence order among themselves.
        page.sort_by_key(|c| c.server_seq);
        let n = replica.apply_remote(&page, &resp.cursors).map_err(local)?;
        pulled += n as u64;
        if !resp.more {
            return Ok((pulled, server_cursor, resp.cursors));
        }
    }
}

/// A new desk's first sync: the hall's records, entity by entity and page by page, each page
/// applied with the position after it (a sync cut here goes on where it stopped). Returns the
/// records and changes taken. When the server has no snapshots (an older one) or a page holds
/// what this desk cannot take as a snapshot, the desk replays the history instead.
fn take_snapshot<R: DeskReplica>(client: &Client, replica: &mut R) -> Result<u64, SyncError> {
    let Some(mut pos) = replica.snapshot_position().map_err(local)? else {
        return Ok(0);
    };
    let entities = replica.snapshot_entities();
    let mut i = entities.iter().position(|e| *e == pos.entity).unwrap_or(0);
    if i == 0 && entities.first() != Some(&pos.entity) {
        pos.after = None;
    }
    let mut taken = 0u64;
    while let Some(entity) = entities.get(i) {
        let page = match client.snapshot(&SnapshotRequest {
            entity: entity.clone(),
            after: pos.after.clone(),
            limit: None,
        }) {
            Ok(p) => p,
            Err(SyncError::Server { status: 404, .. }) => {
                tracing::info!("the server offers no snapshot; replaying the hall's history");
                replica.end_snapshot(None).map_err(local)?;
                return Ok(taken);
            }
            Err(e) => return Err(e),
        };
        let cursors = pos
            .cursors
            .get_or_insert_with(|| page.cursors.clone())
            .clone();
        let next = match &page.next {
            Some(after) => SnapshotPosition {
                cursors: Some(cursors),
                entity: entity.clone(),
                after: Some(after.clone()),
            },
            None => SnapshotPosition {
                cursors: Some(cursors),
                entity: entities.get(i + 1).cloned().unwrap_or_default(),
                after: None,
            },
        };
        if !replica
            .apply_snapshot_page(entity, &page, &next)
            .map_err(local)?
        {
            tracing::warn!(%entity, "a snapshot page this desk cannot take; replaying the history");
            replica.end_snapshot(None).map_err(local)?;
            return Ok(taken);
        }
        taken += (page.records.len() + page.changes.len()) as u64;
        if page.next.is_none() {
            i += 1;
        }
        pos = next;
    }
    replica.end_snapshot(pos.cursors.as_ref()).map_err(local)?;
    tracing::info!(taken, "snapshot taken");
    Ok(taken)
}

/// Whether two changes are the same change (a repeat), by content.
fn same_change(a: &Change, b: &Change) -> bool {
    a.seq == b.seq
        && a.entity == b.entity
        && a.entity_id == b.entity_id
        && a.op == b.op
        && a.hlc == b.hlc
        && a.fields == b.fields
}

/// A desk restored from a backup: the server holds changes of this device after what the desk
/// has confirmed (`pushed_seq`). When the desk holds the same changes, nothing is to be done
/// (the answer to its last push was lost). When it lacks them, or wrote other changes under
/// their numbers after the restore, it makes room (`DeskReplica::make_room`: its own changes
/// from the first difference on move after the server's last) and returns the server's
/// changes from there, to be taken back with the pull ([`pull_all`]); nothing is lost and no
/// number is used twice. Set-aside changes (server sequence 0) are ordered right after the
/// change before them.
fn recover_plan<R: DeskReplica>(
    client: &Client,
    replica: &mut R,
    server_max: i64,
) -> Result<Vec<RemoteChange>, SyncError> {
    let confirmed = replica.pushed_seq().map_err(local)?;
    if server_max <= confirmed {
        return Ok(Vec::new());
    }
    let last = replica.last_local_seq().map_err(local)?;
    let mut theirs: Vec<RemoteChange> = Vec::new();
    let mut after = confirmed.min(last);
    loop {
        let resp = client.own_changes(&OwnChangesRequest {
            after,
            limit: Some(MAX_PULL_CHANGES),
        })?;
        let Some(tail) = resp.changes.last() else {
            break;
        };
        after = tail.change.seq;
        theirs.extend(resp.changes);
        if !resp.more || after >= server_max {
            break;
        }
    }
    theirs.retain(|c| c.change.seq <= server_max);
    // The first of the server's changes this desk does not hold as is.
    let mut first_new = None;
    for (i, c) in theirs.iter().enumerate() {
        let mine = replica.local_changes(c.change.seq - 1, 1).map_err(local)?;
        if !mine.first().is_some_and(|m| same_change(m, &c.change)) {
            first_new = Some(i);
            break;
        }
    }
    let Some(i) = first_new else {
        replica.set_pushed_seq(server_max).map_err(local)?;
        return Ok(Vec::new());
    };
    let mut missing = theirs.split_off(i);
    let expected: Vec<i64> = (missing[0].change.seq..=server_max).collect();
    if missing.iter().map(|c| c.change.seq).collect::<Vec<_>>() != expected {
        return Err(SyncError::Protocol(
            "服务器返回的本机变更不连续，无法恢复".into(),
        ));
    }
    let moved = replica
        .make_room(missing[0].change.seq, server_max)
        .map_err(local)?;
    tracing::warn!(
        taking_back = missing.len(),
        moved,
        "restored desk: own changes to take back from the server"
    );
    let mut previous = 0;
    for c in &mut missing {
        if c.server_seq == 0 {
            c.server_seq = previous;
        }
        previous = c.server_seq;
    }
    Ok(missing)
}

/// Audit entries not yet acknowledged by the server.
fn audit_pending<R: DeskReplica>(replica: &R) -> i64 {
    match (replica.last_audit_seq(), replica.audit_pushed_seq()) {
        (Ok(last), Ok(acked)) => (last - acked).max(0),
        _ => 0,
    }
}

/// Pushes this device's audit entries the server does not hold yet, in sequence order and in
/// batches, from the server's own count (`audit_max_seq`): like the changes, nothing is sent
/// twice and nothing is skipped after a cut answer or a lost mark. The server checks the chain.
/// A server that does not take audit entries (`None`) is skipped.
fn push_audit<R: DeskReplica>(
    client: &Client,
    replica: &mut R,
    server_max: Option<i64>,
) -> Result<u64, SyncError> {
    let Some(server_max) = server_max else {
        return Ok(0);
    };
    let local_last = replica.last_audit_seq().map_err(local)?;
    if server_max > local_last {
        return Err(SyncError::AuditBehind {
            local: local_last,
            server: server_max,
        });
    }
    let mut acked = server_max;
    if replica.audit_pushed_seq().map_err(local)? != acked {
        replica.set_audit_pushed_seq(acked).map_err(local)?;
    }
    let mut accepted = 0u64;
    loop {
        let entries = replica
            .audit_entries_after(acked, AUDIT_BATCH)
            .map_err(local)?;
        if entries.is_empty() {
            break;
        }
        let resp = client.audit_push(&AuditPushRequest { entries })?;
        accepted += resp.accepted;
        if resp.server_max_seq <= acked {
            return Err(SyncError::Protocol("服务器没有接收推送的审计日志".into()));
        }
        acked = resp.server_max_seq;
        replica.set_audit_pushed_seq(acked).map_err(local)?;
    }
    Ok(accepted)
}

/// What the desktop's status bar shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// The last attempt reached the server.
    pub online: bool,
    /// Local changes not yet confirmed by the server.
    pub pending: i64,
    /// RFC 3339 time of the last successful sync.
    pub last_sync_at: Option<String>,
    /// Chinese message of the last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// Desk clock minus the server's, in seconds, when beyond the allowed drift: the status
    /// bar shows 本机时间不准 (the message is in `last_error`). `None`: in time, or unknown.
    pub clock_skew_secs: Option<i64>,
    /// Remote changes this attempt applied here (0 when it failed): the screens showing the
    /// hall's records refresh when it is not 0.
    pub pulled: u64,
}

/// One sync attempt for a background loop: syncs, records the outcome in the store, and
/// returns the status. Never fails; errors land in `last_error`.
pub fn sync_status<R: DeskReplica>(replica: &mut R) -> SyncStatus {
    let result = sync_once(replica);
    let mut record = replica.sync_record().unwrap_or_default();
    let online = match &result {
        Ok(report) => {
            record.last_sync_at = Some(now_text(replica.clock()));
            // The sync ran; a wrong clock, a refused push or audit chain, set-aside changes are
            // still worth a word on the status bar.
            record.last_error = report.warning();
            true
        }
        Err(e) => {
            tracing::warn!(offline = e.is_offline(), "sync attempt failed");
            record.last_error = Some(e.to_string());
            !e.is_offline() && !matches!(e, SyncError::NotEnrolled)
        }
    };
    if let Err(e) = replica.set_sync_record(&record) {
        record.last_error = Some(format!("本机数据库出错：{e}"));
    }
    let pending = match (replica.last_local_seq(), replica.pushed_seq()) {
        (Ok(last), Ok(pushed)) => (last - pushed).max(0),
        _ => 0,
    };
    SyncStatus {
        online,
        pending,
        last_sync_at: record.last_sync_at,
        last_error: record.last_error,
        clock_skew_secs: result.as_ref().ok().and_then(|r| r.clock_skew_secs),
        pulled: result.as_ref().map_or(0, |r| r.pulled + r.snapshot),
    }
}

fn now_text(clock: &dyn xinfang_core::clock::Clock) -> String {
    clock
        .now_cst()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::HallIdKey;

    /// Photos of 40 KB each (issue 19): a full batch of them would be a 40 MB body, over the
    /// server's 16 MB limit, refused every time. The push takes what fits and goes on.
    #[test]
    fn a_batch_of_large_changes_is_cut_to_fit_the_servers_body_limit() {
        let change = |seq: i64, bytes: usize| Change {
            seq,
            entity: "visit_photo".into(),
            entity_id: format!("v{seq}"),
            op: crate::Op::Insert,
            fields: [("jpeg".to_owned(), serde_json::json!("A".repeat(bytes)))]
                .into_iter()
                .collect(),
            hlc: crate::Hlc(seq),
            changed_at: String::new(),
        };
        let mut photos: Vec<Change> = (1..=1000).map(|s| change(s, 40_000)).collect();
        assert!(cut_to_bytes(&mut photos, PUSH_BYTES));
        let body = serde_json::to_vec(&photos).unwrap().len();
        assert!(body <= PUSH_BYTES && body > PUSH_BYTES * 9 / 10, "{body}");
        assert_eq!(
            photos.last().unwrap().seq,
            photos.len() as i64,
            "a prefix, in order"
        );
        // Small changes are not cut; one change larger than the budget still goes, alone.
        let mut small: Vec<Change> = (1..=1000).map(|s| change(s, 100)).collect();
        assert!(!cut_to_bytes(&mut small, PUSH_BYTES));
        assert_eq!(small.len(), 1000);
        let mut huge = vec![change(1, 100), change(2, 100)];
        assert!(cut_to_bytes(&mut huge, 50));
        assert_eq!(huge.len(), 1);
    }

    #[test]
    fn plain_http_only_to_this_computer_and_the_hall_lan() {
        assert!(check_server_url("https://xinfang.example.gov.cn").is_ok());
        for near in [
            "http://127.0.0.1:8750",
            "http://127.8.0.1:8750",
            "http://localhost:8750/",
            "http://[::1]:8750",
            // A hall hub on the LAN (issue 17).
            "http://192.168.1.10:8750",
            "http://10.0.0.1",
            "http://172.16.5.4:8750",
            "http://169.254.10.20:8750",
            "http://[fd12:3456::1]:8750",
            "http://[fe80::1]:8750",
            "http://xinfang-hub.local:8750",
            "http://HUB:8750",
        ] {
            assert!(check_server_url(near).is_ok(), "{near}");
        }
        for far in [
            "http://xinfang.example.gov.cn",
            "http://192.0.2.10:8750",
            "http://172.32.0.1:8750",
            "http://8.8.8.8",
            "http://[2001:db8::1]:8750",
            "http://hub.local.example.cn:8750",
        ] {
            let e = check_server_url(far).unwrap_err();
            assert!(matches!(e, SyncError::InsecureUrl(_)), "{far}");
            assert!(e.to_string().contains("https://"));
        }
        assert!(matches!(
            check_server_url("ftp://x"),
            Err(SyncError::BadUrl(..))
        ));
        assert!(matches!(
            check_server_url("不是地址"),
            Err(SyncError::BadUrl(..))
        ));
    }

    #[test]
    fn server_sent_events_are_read_frame_by_frame() {
        let mut f = SseFrame::default();
        let mut got = Vec::new();
        for line in [
            "event: ready\r\n",
            "data: {}\r\n",
            "\r\n",
            ": keep-alive\n",
            "\n",
            "event:changed\n",
            "data: {\"server_seq\": 42}\n",
            "\n",
            "event: unknown-later\n",
            "data: x\n",
            "\n",
        ] {
            got.extend(f.line(line));
        }
        assert_eq!(
            got,
            vec![
                LiveEvent::Ready,
                LiveEvent::KeepAlive,
                LiveEvent::Changed { server_seq: 42 }
            ]
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("xft_supersecret");
        assert!(!format!("{s:?}").contains("supersecret"));
        let r = EnrolResponse {
            device_id: "d".into(),
            hall_code: "140521".into(),
            hall_name: "沁水县".into(),
            token: "xft_supersecret".into(),
            hall_id_key: Some(HallIdKey::from_bytes(&[0xab; 32])),
            hall_roots: Vec::new(),
            queue_letter: Some("C".into()),
            update_key: None,
        };
        assert!(!format!("{r:?}").contains("supersecret"));
        assert!(!format!("{r:?}").contains("abab"), "{r:?}");
    }
}

/// A CA certificate as the administrator sees it after choosing the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaSummary {
    /// The subject's common name (else the whole subject).
    pub name: String,
    /// The last day it is valid (YYYY-MM-DD, UTC).
    pub valid_until: String,
}

/// The certificates of `pem` as [`CaSummary`]s (those that decode; [`parse_ca`] decides).
pub fn describe_ca(pem: &str) -> Vec<CaSummary> {
    use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
    let Ok(certs) = x509_cert::Certificate::load_pem_chain(pem.as_bytes()) else {
        return Vec::new();
    };
    certs
        .iter()
        .map(|cert| {
            let tbs = &cert.tbs_certificate;
            let common_name = tbs
                .subject
                .0
                .iter()
                .flat_map(|rdn| rdn.0.iter())
                .find_map(|atv| {
                    (atv.oid == x509_cert::der::oid::db::rfc4519::CN).then(|| {
                        Utf8StringRef::try_from(&atv.value)
                            .map(|s| s.as_str().to_owned())
                            .or_else(|_| {
                                PrintableStringRef::try_from(&atv.value)
                                    .map(|s| s.as_str().to_owned())
                            })
                            .ok()
                    })?
                });
            let until = tbs.validity.not_after.to_date_time();
            CaSummary {
                name: common_name.unwrap_or_else(|| tbs.subject.to_string()),
                valid_until: format!(
                    "{:04}-{:02}-{:02}",
                    until.year(),
                    until.month(),
                    until.day()
                ),
            }
        })
        .collect()
}
