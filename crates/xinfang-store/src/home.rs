//! Where this store lives (docs/sync.md "A copied store"). A desk's identity at the city is its
//! device id and token, which a copy of its data dir carries along: two computers running
//! copies of one store would sync as one desk, each taking the other's changes back as its own
//! and breaking the audit chain. So the store remembers, when it is enrolled, a fingerprint of
//! the computer and the data dir it runs in, and does not sync from anywhere else until an
//! administrator confirms that this copy now is the desk (the old computer is out of use).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::sync::{state_get, state_set};
use crate::{Result, Store};

/// The computer's identity as the system keeps it (systemd or D-Bus machine id, else the host
/// name): what changes when a data dir is copied to another computer.
fn machine() -> String {
    [
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/etc/hostname",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .map(|s| s.trim().to_owned())
    .filter(|s| !s.is_empty())
    .or_else(|| std::env::var("COMPUTERNAME").ok())
    .or_else(|| std::env::var("HOSTNAME").ok())
    .unwrap_or_default()
}

/// Fingerprint of this computer and `data_dir`.
pub(crate) fn fingerprint(data_dir: &Path) -> String {
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut h = Sha256::new();
    h.update(machine().as_bytes());
    h.update([0]);
    h.update(dir.to_string_lossy().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Whether this store runs somewhere else than where it was enrolled (copied to another
    /// computer or another directory). A store enrolled before this check existed takes its
    /// present place as its home.
    pub fn moved_since_enrolment(&mut self) -> Result<bool> {
        let here = fingerprint(self.data_dir());
        match state_get(&self.conn, "home")? {
            Some(home) => Ok(home != here),
            None => {
                state_set(&self.conn, "home", &here)?;
                Ok(false)
            }
        }
    }

    /// This copy is the desk from now on (an administrator's confirmation that the computer it
    /// was copied from is out of use); it syncs again.
    pub fn adopt_this_copy(&mut self) -> Result<()> {
        let here = fingerprint(self.data_dir());
        state_set(&self.conn, "home", &here)
    }
}
