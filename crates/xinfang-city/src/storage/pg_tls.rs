//! TLS to PostgreSQL, as libpq's connection URI asks for it: `sslmode` (disable, prefer,
//! require, verify-ca, verify-full) and `sslrootcert` (the CA file that signed the database
//! server's certificate), e.g.
//! `postgres://city@db.jc.local:5432/xinfang?sslmode=verify-full&sslrootcert=/etc/xinfang/db-ca.pem`.
//!
//! tokio-postgres knows disable/prefer/require only and refuses `sslrootcert`, so both are
//! taken out of the URI here; the certificate checks are rustls' (ring, as the rest of the
//! workspace), never OpenSSL. As libpq: `prefer` and `require` encrypt without checking whom
//! they talk to (`require` with `sslrootcert` checks the CA, like `verify-ca`); `verify-ca`
//! checks the CA; `verify-full` the CA and that the certificate names the host connected to.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What `sslmode` asks for (libpq's meanings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(v: &str) -> Result<SslMode, String> {
        Ok(match v {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "数据库地址中的 sslmode={other} 无法识别：可用 disable、prefer、require、verify-ca、verify-full（推荐 verify-full）。"
                ));
            }
        })
    }

    /// What tokio-postgres is told: whether to ask for TLS, and whether to go on without it.
    fn for_client(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

/// A PostgreSQL URI read: the client's configuration and the TLS connector for it.
pub struct PgConnect {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    pub mode: SslMode,
}

/// Reads `uri` (libpq's URI form), taking `sslmode` and `sslrootcert` out of its query. The
/// messages are for the administrator who wrote the URI.
pub fn parse(uri: &str) -> Result<PgConnect, String> {
    let (base, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut mode = None;
    let mut root_cert = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| format!("数据库地址中 {key} 的值不是有效的 UTF-8。"))?
            .into_owned();
        match key {
            "sslmode" => mode = Some(SslMode::parse(&decoded)?),
            "sslrootcert" => root_cert = Some(decoded),
            _ => rest.push(pair),
        }
    }
    // libpq's default.
    let mut mode = mode.unwrap_or(SslMode::Prefer);
    if mode == SslMode::Require && root_cert.is_some() {
        // libpq: with a root certificate, require checks it as verify-ca does.
        mode = SslMode::VerifyCa;
    }
    let without_tls = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: tokio_postgres::Config = without_tls
        .parse()
        .map_err(|e| format!("PostgreSQL 连接地址无效：{e}"))?;
    config.ssl_mode(mode.for_client());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            if let Some(path) = &root_cert
                && mode != SslMode::Disable
            {
                tracing::warn!(
                    path,
                    "sslrootcert is not checked with sslmode=prefer: use verify-full"
                );
            }
            Arc::new(Unchecked(provider.signature_verification_algorithms))
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let Some(path) = &root_cert else {
                return Err(format!(
                    "数据库地址设了 sslmode={}，但没有给出 CA 证书：请在地址后加 &sslrootcert=/路径/ca.pem（签发数据库服务器证书的 CA）。",
                    if mode == SslMode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    }
                ));
            };
            let roots = read_roots(path)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("数据库的 CA 证书文件 {path} 无法使用：{e}"))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(AnyName(webpki))
            }
        }
    };
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS 设置失败：{e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(PgConnect {
        config,
        tls: MakeRustlsConnect::new(tls_config),
        mode,
    })
}

fn read_roots(path: &str) -> Result<RootCertStore, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("无法读取数据库的 CA 证书文件 {path}（sslrootcert）：{e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("数据库的 CA 证书文件 {path} 无法读取：{e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("数据库的 CA 证书文件 {path} 中有无效的证书：{e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "数据库的 CA 证书文件 {path} 中没有 PEM 格式的证书（-----BEGIN CERTIFICATE-----）。"
        ));
    }
    Ok(roots)
}

/// `prefer` / `require` without a CA: encrypted, whoever answers (libpq's meaning). The
/// handshake's signatures are still checked, against the certificate offered.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `verify-ca`: the chain to the CA is checked, the host name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A clear Chinese account of why connecting to the database failed, when it is about TLS or
/// the server refusing the connection; `None` for anything else.
pub fn explain(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(tls) = rustls_error(err) {
            return Some(explain_tls(tls));
        }
        // invalid_authorization_specification: no pg_hba.conf line lets us in.
        if let Some(db) = err
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(tokio_postgres::Error::as_db_error)
            && db.code().code() == "28000"
        {
            return Some(if db.message().contains("no encryption") {
                "数据库服务器只接受加密连接，而数据库地址设了 sslmode=disable：\
                 请改为 sslmode=verify-full 并用 sslrootcert= 指定签发数据库服务器证书的 CA 文件。"
                    .to_owned()
            } else {
                format!(
                    "数据库服务器拒绝了本服务器的连接（请数据库管理员检查 pg_hba.conf 的准入规则）：{}",
                    db.message()
                )
            });
        }
        // tokio-postgres' cause of a TLS error when the server answered it has no TLS.
        if err.to_string() == "server does not support TLS" {
            return Some(
                "数据库服务器不支持加密连接，而数据库地址要求加密（sslmode=require、verify-ca 或 verify-full）：\
                 请数据库管理员在 PostgreSQL 上开启 SSL（ssl = on 和服务器证书）。"
                    .to_owned(),
            );
        }
        next = err.source();
    }
    None
}

/// The rustls error in `err`: itself, or carried in an `io::Error` (whose `source()` skips
/// the error it carries).
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    err.downcast_ref::<rustls::Error>().or_else(|| {
        err.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    })
}

fn explain_tls(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => {
                "数据库服务器的证书不受信任：它不是由 sslrootcert 指定的 CA 签发的。\
                 请向数据库管理员要签发数据库服务器证书的 CA 文件，并检查连接的是否确是本市的数据库服务器。"
                    .to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "数据库服务器的证书上没有连接时用的主机名（sslmode=verify-full 核对主机名）：\
                 请用证书上的主机名或地址连接数据库，或请数据库管理员换发包含该主机名的证书。"
                    .to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => {
                "数据库服务器的证书已过期：请数据库管理员换发证书。".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "数据库服务器的证书尚未生效：请检查本机和数据库服务器的时间。".to_owned()
            }
            C::Revoked => "数据库服务器的证书已被吊销：请数据库管理员换发证书。".to_owned(),
            other => format!("数据库服务器的证书无法通过校验：{other:?}"),
        },
        other => format!("与数据库服务器建立加密连接失败：{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_uri() {
        let c = parse("postgres://city@db.local:5432/xinfang?sslmode=disable&application_name=a")
            .unwrap();
        assert_eq!(c.mode, SslMode::Disable);
        assert_eq!(
            c.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        assert_eq!(c.config.get_application_name(), Some("a"));
        assert_eq!(parse("postgres://city@h/db").unwrap().mode, SslMode::Prefer);

        let e = parse("postgres://city@h/db?sslmode=verify-full")
            .err()
            .unwrap();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = parse("postgres://city@h/db?sslmode=strict").err().unwrap();
        assert!(e.contains("verify-full"), "{e}");
        let e = parse("postgres://city@h/db?sslmode=verify-ca&sslrootcert=%2Fnonexistent%2Fca.pem")
            .err()
            .unwrap();
        assert!(
            e.contains("无法读取") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
    }
}
