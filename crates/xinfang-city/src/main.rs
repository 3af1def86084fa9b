//! `xinfang-city`: the city server and its administration commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use xinfang_city::database::Database;
use xinfang_city::storage::{self, Storage};
use xinfang_city::{admin, api, auth, hub, protocol};
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::hall::HallCode;

#[derive(Debug, Parser)]
#[command(
    name = "xinfang-city",
    version,
    about = "信访接待台市局服务器：设备登记、同步、市级统计"
)]
struct Args {
    /// The server's data dir (else env XINFANG_CITY_DATA_DIR).
    #[arg(long, global = true, env = "XINFANG_CITY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The database: sqlite:///path/to/city.db or postgres://user@host:5432/db (else env
    /// XINFANG_CITY_DATABASE; without either, city.db in the data dir).
    #[arg(long, global = true, env = "XINFANG_CITY_DATABASE")]
    database: Option<String>,
    /// The database key file (`xinfang-city init-key F`; else env XINFANG_CITY_KEY_FILE).
    #[arg(long, global = true, env = "XINFANG_CITY_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Keep the database unencrypted: only for the demo and for tests.
    #[arg(long, global = true, conflicts_with = "key_file")]
    no_encryption: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP(S) server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8750 (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8750")]
        listen: SocketAddr,
        /// PEM certificate chain; with --tls-key, serve HTTPS (rustls).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Lowest desk sync protocol served; older desks are told to upgrade (请升级).
        #[arg(long, default_value_t = xinfang_sync::wire::PROTOCOL_VERSION)]
        min_protocol: u32,
        /// Serve plain HTTP on a non-loopback address (tokens and records in clear on the
        /// network): only behind a TLS-terminating proxy on the same host.
        #[arg(long)]
        allow_plain_http: bool,
        /// Requests handled at once; more are answered 503 at once.
        #[arg(long, default_value_t = api::Limits::default().max_in_flight)]
        max_in_flight: usize,
        /// Enrolment requests accepted in a burst, for the whole server.
        #[arg(long, default_value_t = api::Limits::default().enrol_burst)]
        enrol_burst: u32,
        /// After the burst, one enrolment request per this long: 6s, 1m.
        #[arg(long, default_value = "6s")]
        enrol_every: String,
        /// Enrolment requests accepted in a burst from one address.
        #[arg(long, default_value_t = api::Limits::default().enrol_burst_per_address)]
        enrol_burst_per_address: u32,
        /// After its burst, one enrolment request per this long from one address: 30s, 1m.
        #[arg(long, default_value = "30s")]
        enrol_every_per_address: String,
        /// A reverse proxy in front of this server (its IP address; repeatable): the
        /// per-address enrolment rate counts the client it names in X-Forwarded-For.
        #[arg(long = "trusted-proxy")]
        trusted_proxies: Vec<std::net::IpAddr>,
        /// Announce this server on the LAN (mDNS/DNS-SD `_xinfang._tcp`, TXT hall=…), so the
        /// hall's desks find it: `--announce 140521` for a hall's hub, `--announce` alone for
        /// every hall it serves. Not for a city data centre.
        #[arg(long, num_args = 0.., value_name = "HALL")]
        announce: Option<Vec<String>>,
        /// A hall hub relays to its city this often (and at once after a desk pushed): 5s, 1m.
        #[arg(long, default_value = "5s")]
        relay_every: String,
        /// The figures of the days pushes wrote to are added up in the background this often,
        /// so the statistics find them kept: 30s, 5m; 0 turns it off (each statistics call
        /// then adds up what it needs).
        #[arg(long, default_value = "30s")]
        keep_figures_every: String,
    },
    /// The hall hub: this server, on an always-on PC of a county hall, serving the hall's desks
    /// and relaying to the city (docs/sync.md "Hall hub").
    Hub {
        #[command(subcommand)]
        command: HubCommand,
    },
    /// Reception halls.
    Hall {
        #[command(subcommand)]
        command: HallCommand,
    },
    /// Make a one-time enrolment code for a hall's desk (printed as the last word).
    EnrolCode {
        #[arg(long)]
        hall: String,
        /// A code for the hall's hub (`xinfang-city hub join`), not for a desk.
        #[arg(long)]
        hub: bool,
        /// How long the code is valid: 90s, 30m, 24h, 7d.
        #[arg(long, default_value = "24h")]
        ttl: String,
    },
    /// Enrolled desks.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Make a token for the city administrator's views (printed once, as the last word).
    AdminToken {
        #[arg(long, default_value = "市局管理员")]
        label: String,
        /// How long the token is valid: 30m, 12h, 30d (at most 90d).
        #[arg(long, default_value = "30d")]
        ttl: String,
    },
    /// Accounts of the web console (`/admin`): log in with a user name and password.
    AdminUser {
        #[command(subcommand)]
        command: AdminUserCommand,
    },
    /// List the administrator tokens (id, label, expiry; never the token itself).
    AdminTokens,
    /// Revoke an administrator token by its id (from `admin-tokens`): refused at once.
    RevokeAdminToken { id: String },
    /// The city's log, newest first: re-enrolments allowed, made and refused, repeat-visit
    /// lookups, admin tokens revoked.
    Log {
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// The city's monthly report (月度统计报告) to PDF: city totals, the four rates, a row per
    /// hall, the hall comparison and the kind/category breakdowns, from the synced records.
    Report {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// The PDF file to write.
        #[arg(long)]
        out: PathBuf,
        /// The day the figures are taken (default: today, China Standard Time).
        #[arg(long, hide = true)]
        today: Option<chrono::NaiveDate>,
        /// Folder of the city's adjusted templates (default: <data dir>/templates if present).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Re-check every device's audit chain as stored here, and list the pushes refused for a
    /// broken chain. Exits with 1 when any chain is broken (a desk's, or this database's).
    AuditVerify,
    /// List the pushed changes the server set aside instead of applying (a desk's clock far
    /// ahead, a record of another hall), newest first.
    Quarantine,
    /// The city's reviewer key, to which the desks seal every 检举控告 (docs/security.md).
    ReviewerKey {
        #[command(subcommand)]
        command: ReviewerCommand,
    },
    /// The update key: a minisign key pair whose secret signs the desk packages and whose
    /// public key every desk pins at enrolment (docs/deploy.md "Updates").
    UpdateKey {
        #[command(subcommand)]
        command: UpdateKeyCommand,
    },
    /// Desk update packages: publish a signed one, list them.
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// Print the OpenAPI document (what docs/openapi.yaml holds).
    Openapi,
    /// Write a fresh random database key to FILE (mode 0600; never overwrites). Keep it off
    /// the data dir's backups; without it the database cannot be read.
    InitKey { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum ReviewerCommand {
    /// Make the key pair: the secret to FILE (mode 0600, never overwritten; keep it off this
    /// server), the public key into the data dir's reference lists, served to the desks from the
    /// next start of the server. Prints the public key as the last word.
    Init {
        #[arg(long, value_name = "FILE")]
        secret_out: PathBuf,
    },
    /// Print the appeal of one visit as this server holds it, opened with the reviewer's secret.
    Open {
        #[arg(long, value_name = "FILE")]
        secret_file: PathBuf,
        /// The visit's id.
        visit_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum UpdateKeyCommand {
    /// Make a key pair in DIR: xinfang-update.key (the secret, encrypted with the password of
    /// env XINFANG_UPDATE_KEY_PASSWORD or asked for; mode 0600; keep it off the server) and
    /// xinfang-update.pub. Prints the public key as the last word. Needs no database.
    Generate {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Set the city's update key from a .pub file (or the key itself): desks enrolling from
    /// now on pin it; packages are published only with signatures it verifies.
    Install {
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        /// Replace a different key already set (desks keep the one they pinned).
        #[arg(long)]
        replace: bool,
    },
    /// Print the city's update key.
    Show,
}

#[derive(Debug, Subcommand)]
enum ReleaseCommand {
    /// Publish a desk package: signed here with --secret-key, or with a signature made
    /// elsewhere (`minisign -S -t "xinfang-desk VERSION KIND"`), checked against the update key.
    Publish {
        /// The package file (.deb or .rpm).
        #[arg(long)]
        file: PathBuf,
        /// Its version, e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// desk-deb or desk-rpm.
        #[arg(long)]
        kind: String,
        /// The update secret key (password from env XINFANG_UPDATE_KEY_PASSWORD, else asked).
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "signature",
            required_unless_present = "signature"
        )]
        secret_key: Option<PathBuf>,
        /// A .minisig signature of the file made elsewhere.
        #[arg(long, value_name = "FILE.minisig")]
        signature: Option<PathBuf>,
        /// What changed, shown to the supervisor.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// List the published packages.
    List,
}

/// The update key's password: env XINFANG_UPDATE_KEY_PASSWORD, else asked on the terminal.
fn update_key_password(twice: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("XINFANG_UPDATE_KEY_PASSWORD") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("更新密钥的密码：").context("无法读取密码")?;
    if twice {
        let again = rpassword::prompt_password("再输入一次：").context("无法读取密码")?;
        if again != first {
            bail!("两次输入的密码不一致。");
        }
    }
    Ok(first)
}

#[derive(Debug, Subcommand)]
enum HubCommand {
    /// Join this data dir to the city as the hub of the hall the code names
    /// (`xinfang-city enrol-code --hall CODE --hub` on the city).
    Join {
        /// The city server's address, e.g. https://xinfang.example.gov.cn.
        #[arg(long)]
        upstream: String,
        /// The one-time hub code.
        #[arg(long)]
        code: String,
        /// How the city lists this hub.
        #[arg(long, default_value = "大厅服务器")]
        name: String,
    },
    /// Relay with the city once now and print what moved (the server relays by itself).
    Relay {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where this hub relays to and for which hall.
    Status,
}

#[derive(Debug, Subcommand)]
enum AdminUserCommand {
    /// Add an account, or set a new password for one (its sessions end). The password comes
    /// from env XINFANG_CITY_ADMIN_PASSWORD, else it is asked for twice.
    Add {
        #[arg(long)]
        username: String,
    },
    /// List the accounts.
    List,
    /// Remove an account: its sessions end at once.
    Remove {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum HallCommand {
    /// List halls.
    List,
    /// Add a hall (or rename one).
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// List devices.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke { id: String },
    /// Allow an enrolled device (e.g. a reinstalled desk) to enrol again with a new code, for a
    /// while; without it, a new code used with an enrolled device id is refused.
    AllowReenrol {
        id: String,
        /// How long the permission lasts: 30m, 24h, 7d.
        #[arg(long, default_value = "24h")]
        ttl: String,
    },
}

/// A console account's password: env XINFANG_CITY_ADMIN_PASSWORD, else asked twice on the
/// terminal (not echoed).
fn admin_password() -> anyhow::Result<String> {
    let password = match std::env::var("XINFANG_CITY_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let p = rpassword::prompt_password("新密码：").context("无法读取密码")?;
            let again = rpassword::prompt_password("再输入一次：").context("无法读取密码")?;
            if p != again {
                bail!("两次输入的密码不一致，请重新运行。");
            }
            p
        }
    };
    if password.chars().count() < admin::MIN_PASSWORD_CHARS {
        bail!("密码太短：至少 {} 个字符。", admin::MIN_PASSWORD_CHARS);
    }
    Ok(password)
}

/// Longest life of an admin token.
const MAX_ADMIN_TOKEN_SECS: i64 = 90 * 86_400;

/// A name a desk sent, for the terminal: control characters (escape sequences) shown escaped.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XINFANG_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::from(1)
        }
    }
}

fn data_dir(args: &Args) -> anyhow::Result<&Path> {
    args.data_dir.as_deref().ok_or_else(|| {
        anyhow!("请用 --data-dir 或环境变量 XINFANG_CITY_DATA_DIR 指定服务器的数据目录。")
    })
}

/// Opens the storage named by `--database` (else `city.db` in the data dir). SQLite is
/// encrypted with the key file, or plaintext only when asked for with `--no-encryption`;
/// without either it refuses.
fn open(args: &Args) -> anyhow::Result<Arc<dyn Storage>> {
    let database = match &args.database {
        Some(uri) => Database::parse(uri).map_err(|e| anyhow!(e))?,
        None => Database::Sqlite(data_dir(args)?.join(storage::sqlite::DB_FILE)),
    };
    match &database {
        Database::Sqlite(path) => {
            let key = sqlite_key(args)?;
            storage::open_sqlite(path, args.data_dir.as_deref(), key.as_ref())
                .map_err(|e| anyhow!("无法打开数据库 {}：{e}", path.display()))
        }
        Database::Postgres(uri) => {
            // At rest the data is the database's to encrypt (TDE, disk encryption: README);
            // the key file is SQLCipher's.
            if args.key_file.is_some() {
                bail!(
                    "--key-file 只用于 SQLite 数据库；PostgreSQL 的数据由数据库服务器加密（透明加密或磁盘加密，见 README）。"
                );
            }
            storage::open_postgres(uri, args.data_dir.as_deref()).map_err(|e| match e {
                // Already said for the administrator (TLS, refusals: storage::pg_tls).
                storage::StorageError::Backend(why) => {
                    anyhow!("无法连接数据库 {}：{why}", database.display())
                }
                other => anyhow!("无法连接数据库 {}：{other}", database.display()),
            })
        }
    }
}

fn sqlite_key(args: &Args) -> anyhow::Result<Option<storage::sqlite::CityKey>> {
    Ok(match (&args.key_file, args.no_encryption) {
        (Some(f), _) => Some(
            storage::sqlite::CityKey::read(f)
                .with_context(|| format!("无法读取密钥文件 {}", f.display()))?,
        ),
        (None, true) => {
            tracing::warn!("--no-encryption: the city database is stored in clear");
            None
        }
        (None, false) => bail!(
            "市局服务器的数据库必须加密：请用 --key-file F（或环境变量 XINFANG_CITY_KEY_FILE）指定密钥文件，\
             密钥文件用 `xinfang-city init-key F` 生成；仅演示或测试时可加 --no-encryption。"
        ),
    })
}

fn run(args: Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Openapi => {
            print!("{}", api::openapi_yaml());
            Ok(())
        }
        Command::InitKey { file } => {
            storage::sqlite::CityKey::generate(file).with_context(|| {
                format!(
                    "无法写入密钥文件 {}（已存在的文件不会被覆盖）",
                    file.display()
                )
            })?;
            println!(
                "已生成数据库密钥 {}（仅本用户可读）。启动服务器时用 --key-file 指定它，并另行妥善备份。",
                file.display()
            );
            Ok(())
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            min_protocol,
            allow_plain_http,
            max_in_flight,
            enrol_burst,
            enrol_every,
            enrol_burst_per_address,
            enrol_every_per_address,
            trusted_proxies,
            relay_every,
            keep_figures_every,
            announce,
        } => {
            let relay_every = auth::parse_ttl(relay_every).ok_or_else(|| {
                anyhow!("--relay-every “{relay_every}”看不懂：请写成 5s、1m 这样的形式。")
            })?;
            let keep_figures_every = match keep_figures_every.as_str() {
                "0" => None,
                every => Some(auth::parse_ttl(every).ok_or_else(|| {
                    anyhow!("--keep-figures-every “{every}”看不懂：请写成 30s、5m 这样的形式，或 0 表示不在后台统计。")
                })?),
            };
            let every = auth::parse_ttl(enrol_every).ok_or_else(|| {
                anyhow!("--enrol-every “{enrol_every}”看不懂：请写成 6s、1m 这样的形式。")
            })?;
            let every_per_address = auth::parse_ttl(enrol_every_per_address).ok_or_else(|| {
                anyhow!(
                    "--enrol-every-per-address “{enrol_every_per_address}”看不懂：请写成 30s、1m 这样的形式。"
                )
            })?;
            let limits = api::Limits {
                max_in_flight: *max_in_flight,
                enrol_burst: *enrol_burst,
                enrol_period: std::time::Duration::from_secs(every.unsigned_abs()),
                enrol_burst_per_address: *enrol_burst_per_address,
                enrol_period_per_address: std::time::Duration::from_secs(
                    every_per_address.unsigned_abs(),
                ),
                trusted_proxies: trusted_proxies.clone(),
            };
            // A hall hub serves its desks on the hall's LAN (issue 17: `serve --listen
            // 0.0.0.0:8750`, desks enrol with `http://HUB:8750`, which they accept on a LAN
            // address only); a city server on the network needs TLS or a TLS proxy.
            let link = match args.data_dir.as_deref() {
                Some(dir) => hub::HubLink::load(dir).map_err(|e| anyhow!(e))?,
                None => None,
            };
            if tls_cert.is_none() && !listen.ip().is_loopback() && link.is_some() {
                eprintln!(
                    "提示：大厅服务器在 {listen} 上用明文 HTTP 为本大厅的接待台服务，只应在大厅的内部局域网上使用；\
                     如局域网不可信，请用 --tls-cert 和 --tls-key 启用 HTTPS。"
                );
            } else if tls_cert.is_none() && !listen.ip().is_loopback() && !allow_plain_http {
                bail!(
                    "拒绝在非本机地址 {listen} 上用明文 HTTP 提供服务：设备令牌和来访记录会在网络上明文传输。\
                     请用 --tls-cert 和 --tls-key 启用 HTTPS；如果前面有同一台机器上的 HTTPS 反向代理，才可加 --allow-plain-http。"
                );
            }
            let storage = open(&args)?;
            let announce_halls = match announce {
                None => None,
                Some(chosen) => {
                    let served: Vec<String> =
                        storage.halls()?.into_iter().map(|h| h.code).collect();
                    if let Some(unknown) = chosen.iter().find(|h| !served.contains(h)) {
                        bail!(
                            "--announce {unknown}：本服务器没有这个大厅。请用 `xinfang-city hall list` 查看大厅代码。"
                        );
                    }
                    Some(if chosen.is_empty() {
                        served
                    } else {
                        chosen.clone()
                    })
                }
            };
            let reference =
                xinfang_city::reference::load(data_dir(&args)?).map_err(|e| anyhow!(e))?;
            tracing::info!(version = %reference.version, lists = reference.lists.len(), "reference data");
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("无法启动异步运行时")?;
            let mut settings = api::ServerSettings {
                min_protocol: *min_protocol,
                // Browsers reach the console over HTTPS: TLS here, or the proxy in front.
                secure_cookies: tls_cert.is_some() || *allow_plain_http,
                report_templates: Some(data_dir(&args)?.join("templates")).filter(|d| d.is_dir()),
                ..Default::default()
            };
            // Several instances on one PostgreSQL database hear each other's changes
            // (LISTEN/NOTIFY); on SQLite the process tells its own listeners.
            let heard = settings.notifier.clone();
            let shared =
                storage.listen_changes(Arc::new(move |hall, seq, origin| match origin {
                    Some(device) => heard.changed_by(hall, seq, device),
                    None => heard.changed(hall, seq),
                }))?;
            if shared {
                tracing::info!(
                    "live notifications shared with the other instances through the database"
                );
            }
            // A hall hub relays to its city from a thread of its own (blocking HTTP client).
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            if let Some(link) = link {
                let wake = Arc::new(hub::RelayWake::default());
                settings.relay = Some(wake.clone());
                settings.hub_hall = Some(link.hall_code.clone());
                // Changes the relay brought down from the city reach the hall's desks live.
                let (notifier, st, hall) = (
                    settings.notifier.clone(),
                    storage.clone(),
                    link.hall_code.clone(),
                );
                wake.on_pulled(move || api::tell_hall(st.as_ref(), &notifier, &hall, None));
                tracing::info!(hall = %link.hall_code, upstream = %link.upstream, "hall hub: relaying to the city");
                let (dir, st, stop) = (data_dir(&args)?.to_owned(), storage.clone(), stop.clone());
                let every = std::time::Duration::from_secs(relay_every.unsigned_abs());
                std::thread::spawn(move || hub::run_relay(dir, st, link, every, wake, stop));
            }
            if let Some(every) = keep_figures_every {
                let (st, stop) = (storage.clone(), stop.clone());
                let every = std::time::Duration::from_secs(every.unsigned_abs());
                std::thread::Builder::new()
                    .name("figures".into())
                    .spawn(move || xinfang_city::stats::run_keeper(st, every, stop))?;
            }
            let served = rt.block_on(serve(
                storage,
                settings,
                limits,
                *listen,
                tls_cert.as_deref().zip(tls_key.as_deref()),
                announce_halls,
            ));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            served
        }
        Command::UpdateKey {
            command: UpdateKeyCommand::Generate { out },
        } => {
            let password = update_key_password(true)?;
            let (sk, pk, public) =
                xinfang_city::updates::generate_key(out, &password).map_err(|e| anyhow!(e))?;
            println!(
                "已生成更新密钥：私钥 {}（仅本用户可读{}，请离线妥善保管，不要放在服务器上），公钥 {}。",
                sk.display(),
                if password.is_empty() {
                    "，未加密码"
                } else {
                    "，已用密码加密"
                },
                pk.display()
            );
            println!(
                "在市局服务器上运行 `xinfang-city update-key install --public-key {}` 设置公钥。",
                pk.display()
            );
            println!("公钥：{public}");
            Ok(())
        }
        Command::UpdateKey { command } => {
            let storage = open(&args)?;
            match command {
                UpdateKeyCommand::Generate { .. } => unreachable!("handled above"),
                UpdateKeyCommand::Install {
                    public_key,
                    replace,
                } => {
                    let text = std::fs::read_to_string(public_key)
                        .with_context(|| format!("无法读取 {}", public_key.display()))?;
                    let key =
                        xinfang_city::updates::install_key(storage.as_ref(), &text, *replace)?;
                    println!("已设置更新公钥（此后登记的接待台记下它，用它校验更新包）：{key}");
                }
                UpdateKeyCommand::Show => {
                    match xinfang_city::updates::update_key(storage.as_ref())? {
                        Some(key) => println!("{key}"),
                        None => {
                            bail!("尚未设置更新公钥：请用 `xinfang-city update-key install` 设置。")
                        }
                    }
                }
            }
            Ok(())
        }
        Command::Release { command } => {
            let storage = open(&args)?;
            match command {
                ReleaseCommand::Publish {
                    file,
                    version,
                    kind,
                    secret_key,
                    signature,
                    notes,
                } => {
                    let bytes = std::fs::read(file)
                        .with_context(|| format!("无法读取安装包 {}", file.display()))?;
                    let signature = match (secret_key, signature) {
                        (Some(sk), _) => {
                            let password = update_key_password(false)?;
                            xinfang_city::updates::sign(&bytes, sk, &password, version, kind)
                                .map_err(|e| anyhow!(e))?
                        }
                        (None, Some(sig)) => std::fs::read_to_string(sig)
                            .with_context(|| format!("无法读取签名 {}", sig.display()))?,
                        (None, None) => bail!("请用 --secret-key 或 --signature 给出签名。"),
                    };
                    let r = xinfang_city::updates::publish(
                        storage.as_ref(),
                        &xinfang_city::updates::Publish {
                            version,
                            kind,
                            bytes: &bytes,
                            signature: &signature,
                            notes,
                        },
                    )?;
                    println!(
                        "已发布 {} 版 {} 安装包（{} 字节，SHA-256 {}）：接待台和大厅服务器下次检查时即可看到。",
                        r.version, r.kind, r.size, r.sha256
                    );
                }
                ReleaseCommand::List => {
                    for r in xinfang_city::updates::releases(storage.as_ref())? {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            r.version,
                            r.kind,
                            r.size,
                            r.sha256,
                            r.published_at,
                            printable(&r.notes)
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Hall { command } => {
            let storage = open(&args)?;
            match command {
                HallCommand::List => {
                    for h in storage.halls()? {
                        println!("{}\t{}", h.code, h.name);
                    }
                }
                HallCommand::Add { code, name } => {
                    let code = HallCode::parse(code).map_err(|e| anyhow!(e.message))?;
                    let code = code.as_str();
                    if name.trim().is_empty() {
                        bail!("请用 --name 给出大厅名称，例如 --name 沁水县。");
                    }
                    storage.put_hall(code, name.trim())?;
                    println!("已添加大厅 {code} {}", name.trim());
                }
            }
            Ok(())
        }
        Command::EnrolCode { hall, hub, ttl } => {
            // A hub makes codes for its own hall's desks only, and none for hubs.
            let link = match args.data_dir.as_deref() {
                Some(dir) => hub::HubLink::load(dir).map_err(|e| anyhow!(e))?,
                None => None,
            };
            protocol::check_code_on_hub(link.as_ref().map(|l| l.hall_code.as_str()), hall, *hub)?;
            let storage = open(&args)?;
            let secs = auth::parse_ttl(ttl).ok_or_else(|| {
                anyhow!("有效期“{ttl}”看不懂：请写成 90s、30m、24h 或 7d 这样的形式。")
            })?;
            let Some(h) = storage.hall(hall)? else {
                bail!(
                    "没有代码为 {hall} 的大厅：请先用 `xinfang-city hall list` 查看，或用 `hall add` 添加。"
                );
            };
            let kind = if *hub {
                auth::CodeKind::Hub
            } else {
                auth::CodeKind::Desk
            };
            let made = protocol::make_enrol_code(
                storage.as_ref(),
                &h.code,
                kind,
                secs,
                SystemClock.now().timestamp(),
                "cli",
            )?;
            let code = made.code;
            let what = if *hub {
                "大厅服务器的一次性登记码（在大厅服务器上运行 `xinfang-city hub join`"
            } else {
                "的一次性登记码（"
            };
            println!(
                "大厅 {} {} {what}，有效期 {ttl}，只能用一次）：{code}",
                h.code, h.name
            );
            Ok(())
        }
        Command::Hub { command } => {
            let dir = data_dir(&args)?;
            match command {
                HubCommand::Join {
                    upstream,
                    code,
                    name,
                } => {
                    let storage = open(&args)?;
                    let link = hub::join(dir, storage.as_ref(), upstream, code, name)
                        .map_err(|e| anyhow!(e))?;
                    println!(
                        "已作为 {} {} 的大厅服务器加入市局服务器 {}。接着运行 `xinfang-city serve --listen 0.0.0.0:8750` 为本大厅的接待台服务，并用 `xinfang-city enrol-code --hall {}` 为每台接待台生成登记码。",
                        link.hall_code, link.hall_name, link.upstream, link.hall_code
                    );
                }
                HubCommand::Relay { json } => {
                    let Some(link) = hub::HubLink::load(dir).map_err(|e| anyhow!(e))? else {
                        bail!("这个数据目录不是大厅服务器：请先运行 `xinfang-city hub join`。");
                    };
                    let storage = open(&args)?;
                    let now = SystemClock.now().timestamp();
                    let r = hub::relay_once(dir, storage.as_ref(), &link, now)
                        .map_err(|e| anyhow!("转发到市局失败：{e}"))?;
                    if *json {
                        println!("{}", serde_json::to_string(&r)?);
                    } else {
                        println!(
                            "已转发：上传 {} 条变更、{} 条审计日志，取回 {} 条变更；新设备 {} 台，注销 {} 台。",
                            r.pushed, r.audit_pushed, r.pulled, r.learned, r.revoked
                        );
                        for p in &r.problems {
                            println!("未能转发：{p}");
                        }
                    }
                }
                HubCommand::Status => match hub::HubLink::load(dir).map_err(|e| anyhow!(e))? {
                    Some(link) => println!(
                        "大厅服务器：{} {}，上级 {}，本机编号 {}",
                        link.hall_code, link.hall_name, link.upstream, link.hub_id
                    ),
                    None => println!("这个数据目录不是大厅服务器（是市局服务器）。"),
                },
            }
            Ok(())
        }
        Command::Device { command } => {
            let storage = open(&args)?;
            match command {
                DeviceCommand::List => {
                    let devices = storage.devices()?;
                    if devices.is_empty() {
                        println!("还没有登记的设备。");
                    }
                    for d in devices {
                        let state = match &d.revoked_at {
                            Some(at) => format!("已注销（{at}）"),
                            None => "有效".to_owned(),
                        };
                        let kind = if hub::is_hub_id(&d.id) {
                            "大厅服务器"
                        } else {
                            "接待台"
                        };
                        println!(
                            "{}\t{}\t{kind}\t{}\t登记于 {}\t{state}",
                            d.id,
                            d.hall_code,
                            printable(&d.name),
                            d.enrolled_at
                        );
                    }
                }
                DeviceCommand::Revoke { id } => {
                    if !protocol::revoke_device(storage.as_ref(), id, "cli")? {
                        bail!("没有编号为 {id} 的设备：请用 `xinfang-city device list` 查看。");
                    }
                    println!("已注销设备 {id}：它的令牌立即失效。");
                }
                DeviceCommand::AllowReenrol { id, ttl } => {
                    let secs = auth::parse_ttl(ttl).ok_or_else(|| {
                        anyhow!("有效期“{ttl}”看不懂：请写成 30m、24h 或 7d 这样的形式。")
                    })?;
                    let until = SystemClock.now().timestamp() + secs;
                    if !storage.allow_reenrol(id, until, "cli")? {
                        bail!("没有编号为 {id} 的设备：请用 `xinfang-city device list` 查看。");
                    }
                    println!(
                        "已允许设备 {id} 在 {ttl} 内用新的登记码重新登记一次（已记入市局日志）。"
                    );
                }
            }
            Ok(())
        }
        Command::Report {
            month,
            out,
            today,
            templates,
        } => {
            // The month first: a typo is reported before the database is opened.
            xinfang_print::report::month_bounds(month).map_err(|e| anyhow!(e.message))?;
            let storage = open(&args)?;
            let templates = match templates {
                Some(t) => Some(t.clone()),
                None => Some(data_dir(&args)?.join("templates")).filter(|d| d.is_dir()),
            };
            let today = today.unwrap_or_else(|| SystemClock.today());
            let (r, pdf) = xinfang_city::report::month_pdf(
                storage.as_ref(),
                month,
                today,
                templates.as_deref(),
            )
            .map_err(|e| anyhow!(e))?;
            std::fs::write(out, &pdf).with_context(|| {
                format!(
                    "无法写入 {}：请检查目录是否存在、是否有写权限",
                    out.display()
                )
            })?;
            println!(
                "已生成{}{}：{}（全市来访 {} 批）",
                r.title,
                r.month_zh,
                out.display(),
                r.total.visits
            );
            Ok(())
        }
        Command::AuditVerify => {
            let storage = open(&args)?;
            let chains = protocol::audit_chains(storage.as_ref())?;
            if chains.devices.is_empty() {
                println!("还没有登记的设备。");
            }
            for d in &chains.devices {
                let state = if d.breaks.is_empty() {
                    "完好"
                } else {
                    "断裂"
                };
                println!(
                    "{}\t{} {}\t{}\t审计日志 {} 条（到第 {} 条）\t{state}",
                    d.device_id, d.hall_code, d.hall_name, d.device_name, d.entries, d.last_seq
                );
                for b in &d.breaks {
                    let what = if b.source == "stored" {
                        "服务器数据库中保存的审计日志不符，可能被改动".to_owned()
                    } else {
                        format!("上传被拒绝 {} 次，首次于 {}", b.attempts, b.detected_at)
                    };
                    println!("\t第 {} 条：{}（{what}）", b.seq, b.reason);
                }
            }
            if chains.broken > 0 {
                bail!(
                    "{} 台设备的审计日志链断裂（见上）：请核对这些设备的审计日志（在该接待台运行 `xinfang verify`），\
                     并检查服务器数据库是否被改动、是否需要从备份恢复。",
                    chains.broken
                );
            }
            println!("全部 {} 台设备的审计日志链完好。", chains.devices.len());
            Ok(())
        }
        Command::ReviewerKey {
            command: ReviewerCommand::Init { secret_out },
        } => {
            let public = xinfang_city::reviewer::init(data_dir(&args)?, secret_out)?;
            println!(
                "已生成市级审阅密钥：私钥 {}（仅本用户可读，请移出服务器另行保管），公钥在下次启动服务器后发给各接待台。公钥 {public}",
                secret_out.display()
            );
            Ok(())
        }
        Command::ReviewerKey {
            command:
                ReviewerCommand::Open {
                    secret_file,
                    visit_id,
                },
        } => {
            let storage = open(&args)?;
            println!(
                "{}",
                xinfang_city::reviewer::open_appeal(&*storage, secret_file, visit_id)?
            );
            Ok(())
        }
        Command::Quarantine => {
            let storage = open(&args)?;
            let q = storage.quarantine(1000)?;
            if q.total == 0 {
                println!("没有被暂存的变更：所有上传的变更都已采用。");
                return Ok(());
            }
            println!("共 {} 条变更被暂存待查（最新的在前）：", q.total);
            for c in &q.changes {
                println!(
                    "{}	大厅 {}	设备 {} 第 {} 条	{} {}	{}",
                    c.received_at,
                    c.hall_code,
                    c.device_id,
                    c.seq,
                    printable(&c.entity),
                    printable(&c.entity_id),
                    c.reason
                );
            }
            Ok(())
        }
        Command::AdminToken { label, ttl } => {
            let secs = auth::parse_ttl(ttl)
                .filter(|s| *s <= MAX_ADMIN_TOKEN_SECS)
                .ok_or_else(|| {
                    anyhow!("有效期“{ttl}”不对：请写成 12h、30d 这样的形式，最长 90d。")
                })?;
            let storage = open(&args)?;
            let token = auth::new_token();
            let expires = SystemClock.now().timestamp() + secs;
            storage.add_admin_token(&auth::token_hash(&token), label, expires)?;
            println!(
                "市局管理员令牌（有效期 {ttl}，编号 {}；只显示这一次，请妥善保存）：{token}",
                &auth::token_hash(&token)[..12]
            );
            Ok(())
        }
        Command::AdminTokens => {
            let storage = open(&args)?;
            let now = SystemClock.now().timestamp();
            let tokens = storage.admin_tokens()?;
            if tokens.is_empty() {
                println!("还没有管理员令牌：用 `xinfang-city admin-token` 生成。");
            }
            for t in tokens {
                let expires = chrono::DateTime::from_timestamp(t.expires_at, 0)
                    .map(|d| {
                        d.with_timezone(&xinfang_core::clock::cst())
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default();
                let state = match (&t.revoked_at, t.expires_at <= now) {
                    (Some(at), _) => format!("已吊销（{at}）"),
                    (None, true) => "已过期".to_owned(),
                    (None, false) => "有效".to_owned(),
                };
                println!(
                    "{}\t{}\t生成于 {}\t到期 {expires}\t{state}",
                    t.id,
                    printable(&t.label),
                    t.created_at
                );
            }
            Ok(())
        }
        Command::AdminUser { command } => {
            let storage = open(&args)?;
            match command {
                AdminUserCommand::Add { username } => {
                    if !admin::valid_username(username) {
                        bail!(
                            "用户名“{}”不合适：请用 2 到 32 个英文字母、数字或 . _ -。",
                            printable(username)
                        );
                    }
                    let password = admin_password()?;
                    let hash = admin::hash_password(&password)
                        .map_err(|e| anyhow!("无法处理密码：{e}"))?;
                    if storage.put_admin_user(username, &hash)? {
                        println!(
                            "已添加网页管理账号 {username}：在浏览器打开本服务器的 /admin 登录。"
                        );
                    } else {
                        println!(
                            "已为网页管理账号 {username} 设置新密码，它原来的登录已全部失效。"
                        );
                    }
                    storage.log(&storage::NewLogEntry {
                        action: "admin_user_set",
                        actor: "cli".into(),
                        device_id: None,
                        detail: format!("admin user {username}"),
                    })?;
                }
                AdminUserCommand::List => {
                    let users = storage.admin_users()?;
                    if users.is_empty() {
                        println!(
                            "还没有网页管理账号：用 `xinfang-city admin-user add --username 名称` 添加。"
                        );
                    }
                    for u in users {
                        println!("{}\t添加于 {}", printable(&u.username), u.created_at);
                    }
                }
                AdminUserCommand::Remove { username } => {
                    if !storage.remove_admin_user(username)? {
                        bail!(
                            "没有网页管理账号“{}”：请用 `xinfang-city admin-user list` 查看。",
                            printable(username)
                        );
                    }
                    storage.log(&storage::NewLogEntry {
                        action: "admin_user_removed",
                        actor: "cli".into(),
                        device_id: None,
                        detail: format!("admin user {username}"),
                    })?;
                    println!("已删除网页管理账号 {username}，它的登录立即失效。");
                }
            }
            Ok(())
        }
        Command::RevokeAdminToken { id } => {
            let storage = open(&args)?;
            if protocol::revoke_admin_token(storage.as_ref(), id)? == 0 {
                bail!(
                    "没有编号为 {id} 的有效管理员令牌：请用 `xinfang-city admin-tokens` 查看编号（至少 8 位）。"
                );
            }
            println!("已吊销管理员令牌 {id}：它立即失效（已记入市局日志）。");
            Ok(())
        }
        Command::Log { limit } => {
            let storage = open(&args)?;
            let entries = storage.city_log(*limit)?;
            if entries.is_empty() {
                println!("市局日志为空。");
            }
            for e in entries {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    e.at,
                    e.action,
                    printable(&e.actor),
                    e.device_id.as_deref().unwrap_or("-"),
                    printable(&e.detail)
                );
            }
            Ok(())
        }
    }
}

async fn serve(
    storage: Arc<dyn Storage>,
    settings: api::ServerSettings,
    limits: api::Limits,
    listen: SocketAddr,
    tls: Option<(&Path, &Path)>,
    announce_halls: Option<Vec<String>>,
) -> anyhow::Result<()> {
    let notifier = settings.notifier.clone();
    let app = api::router_with_limits(storage, settings, limits);
    // Open event streams never end by themselves: end them when the shutdown begins, or a
    // graceful shutdown would wait for every listening desk.
    let stopping = move || {
        let notifier = notifier.clone();
        async move {
            shutdown().await;
            notifier.close();
        }
    };
    let std_listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("无法监听 {listen}：端口可能已被占用"))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    // Withdrawn (mDNS goodbye) when the server stops and this is dropped.
    let _announced = match announce_halls {
        Some(halls) => Some(announce(&halls, addr, tls.is_some())?),
        None => None,
    };
    match tls {
        None => {
            if !addr.ip().is_loopback() {
                tracing::warn!(%addr, "serving plain HTTP on a non-loopback address: a hall hub's LAN, or a TLS proxy on this host");
            }
            println!("xinfang-city listening on http://{addr}");
            let listener = tokio::net::TcpListener::from_std(std_listener)?;
            // With the peer's address: enrolment is rate-limited per address.
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stopping())
            .await?;
        }
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!("无法读取证书 {} 或私钥 {}", cert.display(), key.display())
                })?;
            println!("xinfang-city listening on https://{addr}");
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                stopping().await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(std_listener, config)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await?;
        }
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Announces the server on the LAN: on the address it listens on, or on every address of the
/// computer when it listens on all (0.0.0.0).
fn announce(
    halls: &[String],
    addr: SocketAddr,
    tls: bool,
) -> anyhow::Result<xinfang_sync::lan::Announcement> {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| "xinfang-hub".to_owned());
    let addrs: Vec<std::net::IpAddr> = if addr.ip().is_unspecified() {
        Vec::new()
    } else {
        vec![addr.ip()]
    };
    let name = format!("xinfang-city {host} {}", addr.port());
    let info = xinfang_sync::lan::service_info(
        &name,
        &host,
        halls,
        if tls { "https" } else { "http" },
        &addrs,
        addr.port(),
    )?;
    let announced = xinfang_sync::lan::announce(info)?;
    tracing::info!(?halls, %addr, "announced on the LAN (_xinfang._tcp)");
    Ok(announced)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
