//! Which database the city server keeps its data in, by URI (`--database`, env
//! `XINFANG_CITY_DATABASE`): `sqlite:///path/to/city.db` or `postgres://user@host:5432/db`.
//! Without one, `city.db` in the data dir, as always.

use std::path::PathBuf;

/// A database the server can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The SQLite file at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URI, as given (libpq's form).
    Postgres(String),
}

impl Database {
    /// Reads a `--database` URI. The message is for the administrator who typed it.
    pub fn parse(uri: &str) -> Result<Database, String> {
        let uri = uri.trim();
        if let Some(path) = uri.strip_prefix("sqlite://") {
            if path.is_empty() || !path.starts_with('/') {
                return Err(format!(
                    "数据库地址“{uri}”不对：SQLite 应写成 sqlite:///绝对路径/city.db（三个斜杠）。"
                ));
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            return Ok(Database::Postgres(uri.to_owned()));
        }
        Err(format!(
            "数据库地址“{}”看不懂：应为 sqlite:///路径/city.db 或 postgres://用户@主机:5432/库名。",
            redact(uri)
        ))
    }

    /// The URI for logs and messages: a password in it is left out.
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(p) => format!("sqlite://{}", p.display()),
            Database::Postgres(uri) => redact(uri),
        }
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return uri.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_read_and_passwords_never_shown() {
        assert_eq!(
            Database::parse("sqlite:///var/lib/city/city.db"),
            Ok(Database::Sqlite("/var/lib/city/city.db".into()))
        );
        let pg = Database::parse("postgres://city:s3cret@db.local:5432/xinfang").unwrap();
        assert_eq!(
            pg,
            Database::Postgres("postgres://city:s3cret@db.local:5432/xinfang".into())
        );
        assert_eq!(pg.display(), "postgres://city:***@db.local:5432/xinfang");
        assert!(Database::parse("sqlite://relative.db").is_err());
        let e = Database::parse("mysql://root:pw@h/db").unwrap_err();
        assert!(e.contains("看不懂") && !e.contains("pw"), "{e}");
    }
}
