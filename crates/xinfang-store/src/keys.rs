//! Encryption at rest: the data key of a store and its key slots.
//!
//! One random 32-byte data key per store encrypts the SQLite file (SQLCipher, given as a raw
//! key so no PBKDF2 runs on open). The data key is never written in clear: it is sealed
//! (X25519 sealed box) to the public key of every slot in the sidecar file `keyslots.json`.
//! A slot's X25519 secret is wrapped (XChaCha20-Poly1305) with a key derived from the staff
//! member's password by argon2id, whose parameters and salt are recorded in the slot; the store
//! id, slot id, owner and parameters are the associated data, so a slot cannot be moved to
//! another account or its parameters downgraded. Because the data key is sealed to public
//! keys, it can be rotated (`rekey`) and resealed to every slot without anyone's password.
//! One slot is the recovery slot, opened by the recovery key shown once at creation.
//!
//! The desk app and the `xinfang` CLI may work on one data dir at once (an admin resets a
//! password in the CLI while the app changes another): every read-modify-write of
//! `keyslots.json` runs under an exclusive lock on the sibling file `keyslots.lock`
//! ([`KeySlots::lock`], [`KeySlots::update`]); [`KeySlots::save`] needs the lock to be called
//! at all. The lock is on a file of its own because the json is replaced by rename: a lock on
//! the json would stay on the old inode. Readers need no lock: a rename is atomic, so they see
//! the old file or the new one, never half of one.
//!
//! The slot list itself is authenticated (issue 15, item 5): a MAC (keyed BLAKE2s, the key
//! derived from the data key) covers the store id, the KDF parameters of new slots and every
//! slot's id, owner, parameters, salt, public key and sealed keys. Whoever cannot open the data
//! key cannot plant a slot (which a rekey would seal the new key to) nor lower `new_slot_kdf`.
//! Only the wrong-password counters are outside it: they are written without the data key.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::{Result, StoreError};

/// File name of the key slots, next to the database in the data dir.
pub const KEYSLOTS_FILE: &str = "keyslots.json";

/// File name of the lock that serialises writers of [`KEYSLOTS_FILE`], in the same dir. It is
/// never deleted: removing a lock file others may hold lets two writers in at once.
pub const KEYSLOTS_LOCK_FILE: &str = "keyslots.lock";

const FORMAT: &str = "xinfang-keyslots-v1";

/// BLAKE2s personalisation of the slot-list MAC: the data key keys nothing else this way.
const MAC_PERSONAL: &[u8; 8] = b"xfslots1";

/// Whether the MAC of a slot list checks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Authenticity {
    /// The MAC verifies with one of the keys given.
    Authentic,
    /// A file written before slot lists carried a MAC.
    Legacy,
}

/// The message when the slot list was changed by someone without the data key.
pub(crate) fn tampered() -> StoreError {
    StoreError::Encryption(format!(
        "密钥槽文件 {KEYSLOTS_FILE} 被改动过（校验不符），为安全起见不能使用：请用备份中的 \
         {KEYSLOTS_FILE}（`xinfang backup` 写在备份旁的 .keyslots.json）替换它后再登录，\
         并请管理员检查这台电脑是否被他人动过。"
    ))
}

/// An exclusive lock on the key slots of one data dir, held until dropped. Excludes other
/// processes and other threads of this one alike (each lock opens the file anew, and the OS
/// lock belongs to that open file).
#[must_use = "the key slots are locked only while this guard lives"]
pub(crate) struct SlotsLock {
    dir: PathBuf,
    _file: File,
}

/// The store's data key. Wiped from memory when dropped; `Debug` shows nothing of it.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    pub(crate) fn random() -> DataKey {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        DataKey(k)
    }

    fn from_slice(b: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(DataKey(arr))
    }

    /// The SQLCipher raw-key literal `x'<64 hex>'`, wiped after use. Never log it.
    pub fn pragma_literal(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(70));
        s.push_str("x'");
        for b in self.0 {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s.push('\'');
        s
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// How a store is unlocked.
pub enum Credentials {
    /// A staff member's username and password (their key slot).
    Password { username: String, password: String },
    /// The recovery key shown once when the store was created.
    Recovery(String),
}

impl Credentials {
    pub fn password(username: &str, password: &str) -> Credentials {
        Credentials::Password {
            username: username.trim().to_owned(),
            password: password.to_owned(),
        }
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        match self {
            Credentials::Password { password, .. } => password.zeroize(),
            Credentials::Recovery(k) => k.zeroize(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { username, .. } => {
                write!(f, "Credentials::Password({username}, …)")
            }
            Credentials::Recovery(_) => f.write_str("Credentials::Recovery(…)"),
        }
    }
}

/// The recovery key: 160 random bits as 8 groups of 4 base32 characters. Shown once.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct RecoveryKey(String);

impl RecoveryKey {
    fn random() -> RecoveryKey {
        let mut raw = Zeroizing::new([0u8; 20]);
        OsRng.fill_bytes(&mut raw[..]);
        let mut chars = Zeroizing::new(String::with_capacity(32));
        // 20 bytes = 160 bits = 32 base32 characters.
        let mut acc: u64 = 0;
        let mut bits = 0;
        for &b in raw.iter() {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                chars.push(BASE32[((acc >> bits) & 31) as usize] as char);
            }
        }
        acc.zeroize();
        let groups: Vec<&str> = (0..8).map(|i| &chars[i * 4..i * 4 + 4]).collect();
        RecoveryKey(groups.join("-"))
    }

    /// The key as shown to the admin, e.g. `ABCD-EFGH-…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Upper case, separators and spaces removed: what the KDF sees.
    fn normalized(text: &str) -> Zeroizing<String> {
        Zeroizing::new(
            text.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        )
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(…)")
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

pub(crate) fn unhex(s: &str) -> Result<Vec<u8>> {
    let bad = || StoreError::Corrupt(format!("{KEYSLOTS_FILE} 中的数据格式不对"));
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad()))
        .collect()
}

/// argon2id parameters, recorded in each slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// For staff passwords: about half a second on a 2-core hall PC (docs/security.md).
    pub const PRODUCTION: KdfParams = KdfParams {
        m_kib: 65536,
        t: 8,
        p: 1,
    };
    /// Only for test suites (debug builds with env `XINFANG_INSECURE_FAST_KDF=1` at store creation).
    pub const INSECURE_FAST: KdfParams = KdfParams {
        m_kib: 1024,
        t: 1,
        p: 1,
    };
    /// The recovery key has 160 random bits: the KDF only has to be a KDF, not slow.
    pub const RECOVERY: KdfParams = KdfParams {
        m_kib: 8192,
        t: 1,
        p: 1,
    };

    /// Parameters for the password slots of a new store: [`KdfParams::PRODUCTION`], unless a
    /// debug build (the test suites, through `.cargo/config.toml`) asks for the insecure test
    /// parameters. Release binaries ignore the variable: no setting weakens a real store.
    pub fn for_new_store() -> KdfParams {
        if cfg!(debug_assertions)
            && std::env::var_os("XINFANG_INSECURE_FAST_KDF").is_some_and(|v| v == "1")
        {
            tracing::warn!("XINFANG_INSECURE_FAST_KDF=1: weak key-slot KDF, for tests only");
            KdfParams::INSECURE_FAST
        } else {
            KdfParams::PRODUCTION
        }
    }

    /// The weakest parameters a password slot may be written with: the production ones in
    /// release builds (a lowered `new_slot_kdf` cannot weaken the next password change), the
    /// test ones in debug builds.
    pub fn floor() -> KdfParams {
        Self::floor_for(cfg!(debug_assertions))
    }

    pub(crate) fn floor_for(debug_build: bool) -> KdfParams {
        if debug_build {
            KdfParams::INSECURE_FAST
        } else {
            KdfParams::PRODUCTION
        }
    }

    /// Each parameter raised to at least `floor`'s.
    pub fn at_least(self, floor: KdfParams) -> KdfParams {
        KdfParams {
            m_kib: self.m_kib.max(floor.m_kib),
            t: self.t.max(floor.t),
            p: self.p.max(floor.p),
        }
    }

    pub(crate) fn derive(&self, secret: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| StoreError::Password(e.to_string()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(secret, salt, &mut out[..])
            .map_err(|e| StoreError::Password(e.to_string()))?;
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SlotKind {
    Password,
    Recovery,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Slot {
    id: String,
    kind: SlotKind,
    /// The staff username for a password slot; empty for the recovery slot.
    username: String,
    kdf: KdfParams,
    salt: String,
    /// X25519 public key of the slot (hex).
    public_key: String,
    /// Nonce (24 bytes) + XChaCha20-Poly1305 ciphertext of the X25519 secret (hex).
    wrapped_secret: String,
    /// The data key sealed to `public_key` (hex).
    sealed_key: String,
    /// During a rekey: the new data key sealed to `public_key`, until the database is rekeyed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pending_sealed_key: String,
    /// Consecutive wrong passwords, and when the last one was (Unix seconds).
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    last_failure: u64,
    created_at: String,
}

/// The sidecar file: slot metadata in clear, nothing of value without a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeySlots {
    format: String,
    store_id: String,
    /// KDF parameters for new password slots (chosen at store creation).
    new_slot_kdf: KdfParams,
    slots: Vec<Slot>,
    /// MAC of the slot list under a key derived from the data key (hex); empty in files
    /// written before it existed (accepted once, then written, see `Store::unlock_at`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    mac: String,
}

/// Seconds to wait before the next try after `failures` consecutive wrong passwords of one
/// account: none for the first three, then 2, 4, 8 … up to 5 minutes. Other accounts are not
/// affected: this slows guessing down without locking the hall out.
pub fn throttle_seconds(failures: u32) -> u64 {
    if failures < 3 {
        0
    } else {
        (1u64 << (failures - 2).min(9)).min(300)
    }
}

impl KeySlots {
    pub(crate) fn path(dir: &Path) -> PathBuf {
        dir.join(KEYSLOTS_FILE)
    }

    pub(crate) fn exists(dir: &Path) -> bool {
        Self::path(dir).exists()
    }

    /// New slots for a new store: the data key, and the recovery slot with its key.
    pub(crate) fn new(kdf: KdfParams, now: &str) -> Result<(KeySlots, DataKey, RecoveryKey)> {
        let mut slots = KeySlots {
            format: FORMAT.to_owned(),
            store_id: uuid::Uuid::now_v7().to_string(),
            new_slot_kdf: kdf,
            slots: Vec::new(),
            mac: String::new(),
        };
        let key = DataKey::random();
        let recovery = RecoveryKey::random();
        let normalized = RecoveryKey::normalized(recovery.as_str());
        let slot = slots.make_slot(
            SlotKind::Recovery,
            "",
            normalized.as_bytes(),
            KdfParams::RECOVERY,
            &key,
            now,
        )?;
        slots.slots.push(slot);
        slots.authenticate(&key);
        Ok((slots, key, recovery))
    }

    pub(crate) fn load(dir: &Path) -> Result<KeySlots> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| StoreError::Io(path.clone(), e))?;
        let slots: KeySlots = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("{} 无法读取：{e}", path.display())))?;
        if slots.format != FORMAT {
            return Err(StoreError::Corrupt(format!(
                "{} 的格式 {} 不认识",
                path.display(),
                slots.format
            )));
        }
        Ok(slots)
    }

    /// Takes the exclusive lock on `dir`'s key slots, waiting for another process or thread
    /// that holds it. Load the slots after taking it, so the changes apply to the latest file.
    pub(crate) fn lock(dir: &Path) -> Result<SlotsLock> {
        let path = dir.join(KEYSLOTS_LOCK_FILE);
        let io = |e| StoreError::Io(path.clone(), e);
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(io)?;
        file.lock().map_err(io)?;
        Ok(SlotsLock {
            dir: dir.to_path_buf(),
            _file: file,
        })
    }

    /// Read-modify-write of `dir`'s key slots under the lock: load the current file, apply `f`,
    /// save. Nothing is written when `f` fails.
    pub(crate) fn update<T>(dir: &Path, f: impl FnOnce(&mut KeySlots) -> Result<T>) -> Result<T> {
        let lock = Self::lock(dir)?;
        let mut slots = Self::load(dir)?;
        let out = f(&mut slots)?;
        slots.save(&lock)?;
        Ok(out)
    }

    /// [`KeySlots::update`] for writers holding the data key: the file must be authentic under
    /// one of `keys` (the current key first; an interrupted rekey's file is under the old one),
    /// and is written back authenticated under `keys[0]`.
    pub(crate) fn update_keyed<T>(
        dir: &Path,
        keys: &[DataKey],
        f: impl FnOnce(&mut KeySlots) -> Result<T>,
    ) -> Result<T> {
        let lock = Self::lock(dir)?;
        let mut slots = Self::load(dir)?;
        slots.require_authentic(keys)?;
        let out = f(&mut slots)?;
        slots.authenticate(&keys[0]);
        slots.save(&lock)?;
        Ok(out)
    }

    fn mac_input(&self) -> Vec<u8> {
        let slots: Vec<_> = self
            .slots
            .iter()
            .map(|s| {
                (
                    &s.id,
                    s.kind,
                    &s.username,
                    s.kdf,
                    &s.salt,
                    &s.public_key,
                    &s.wrapped_secret,
                    &s.sealed_key,
                    &s.pending_sealed_key,
                    &s.created_at,
                )
            })
            .collect();
        serde_json::to_vec(&(&self.format, &self.store_id, self.new_slot_kdf, slots))
            .expect("key slots serialise")
    }

    fn mac_with(&self, key: &DataKey) -> blake2::Blake2sMac256 {
        use blake2::digest::Mac;
        let mut mac = blake2::Blake2sMac256::new_with_salt_and_personal(&key.0, &[], MAC_PERSONAL)
            .expect("a 32-byte key and an 8-byte personalisation fit BLAKE2s");
        mac.update(&self.mac_input());
        mac
    }

    /// Writes the MAC of the list as it is now, under `key`.
    pub(crate) fn authenticate(&mut self, key: &DataKey) {
        use blake2::digest::Mac;
        self.mac = hex(&self.mac_with(key).finalize().into_bytes());
    }

    /// Checks the MAC against each of `keys` (constant time).
    pub(crate) fn authenticity(&self, keys: &[DataKey]) -> Result<Authenticity> {
        use blake2::digest::Mac;
        if self.mac.is_empty() {
            return Ok(Authenticity::Legacy);
        }
        let tag = unhex(&self.mac).map_err(|_| tampered())?;
        if keys
            .iter()
            .any(|k| self.mac_with(k).verify_slice(&tag).is_ok())
        {
            Ok(Authenticity::Authentic)
        } else {
            Err(tampered())
        }
    }

    /// Refuses a list that is not authentic under one of `keys` (a missing MAC included: by
    /// the time a writer holds the data key, `Store::unlock_at` has written it).
    pub(crate) fn require_authentic(&self, keys: &[DataKey]) -> Result<()> {
        match self.authenticity(keys)? {
            Authenticity::Authentic => Ok(()),
            Authenticity::Legacy => Err(tampered()),
        }
    }

    /// Writes the file of the locked dir atomically (temp file, fsync, rename, fsync of the
    /// dir), readable by the owner only.
    pub(crate) fn save(&self, lock: &SlotsLock) -> Result<()> {
        let dir = lock.dir.as_path();
        let path = Self::path(dir);
        // Writers are serialised by the lock; the process id keeps the temp name apart from a
        // stale one of another process all the same.
        let tmp = dir.join(format!("{KEYSLOTS_FILE}.{}.tmp", std::process::id()));
        let io = |e| StoreError::Io(path.clone(), e);
        let text = serde_json::to_string_pretty(self).expect("key slots serialise");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            // The rename itself is durable only once the directory is synced.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Io(dir.to_path_buf(), e))?;
        }
        Ok(())
    }

    fn aad(&self, id: &str, kind: SlotKind, username: &str, kdf: &KdfParams) -> Vec<u8> {
        format!(
            "{FORMAT}\n{}\n{id}\n{kind:?}\n{username}\nargon2id m={} t={} p={}",
            self.store_id, kdf.m_kib, kdf.t, kdf.p
        )
        .into_bytes()
    }

    fn make_slot(
        &self,
        kind: SlotKind,
        username: &str,
        secret: &[u8],
        kdf: KdfParams,
        key: &DataKey,
        now: &str,
    ) -> Result<Slot> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let kek = kdf.derive(secret, &salt)?;
        let sk = crypto_box::SecretKey::generate(&mut OsRng);
        let pk = sk.public_key();
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let sk_bytes = Zeroizing::new(sk.to_bytes());
        let aad = self.aad(&id, kind, username, &kdf);
        let ct = XChaCha20Poly1305::new((&*kek).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &sk_bytes[..],
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Password("加密密钥槽失败".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&ct);
        Ok(Slot {
            id,
            kind,
            username: username.to_owned(),
            kdf,
            salt: hex(&salt),
            public_key: hex(pk.as_bytes()),
            wrapped_secret: hex(&wrapped),
            sealed_key: seal(&pk, key)?,
            pending_sealed_key: String::new(),
            failures: 0,
            last_failure: 0,
            created_at: now.to_owned(),
        })
    }

    /// Unwraps a slot's X25519 secret with `secret` (password or recovery key).
    fn open_slot(&self, slot: &Slot, secret: &[u8]) -> Result<crypto_box::SecretKey> {
        let salt = unhex(&slot.salt)?;
        let kek = slot.kdf.derive(secret, &salt)?;
        let wrapped = unhex(&slot.wrapped_secret)?;
        if wrapped.len() < 24 {
            return Err(StoreError::Corrupt(format!(
                "{KEYSLOTS_FILE} 中的密钥槽已损坏"
            )));
        }
        let aad = self.aad(&slot.id, slot.kind, &slot.username, &slot.kdf);
        let sk = Zeroizing::new(
            XChaCha20Poly1305::new((&*kek).into())
                .decrypt(
                    XNonce::from_slice(&wrapped[..24]),
                    Payload {
                        msg: &wrapped[24..],
                        aad: &aad,
                    },
                )
                .map_err(|_| StoreError::BadCredentials)?,
        );
        let arr: [u8; 32] = sk[..]
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("{KEYSLOTS_FILE} 中的密钥槽已损坏")))?;
        let arr = Zeroizing::new(arr);
        Ok(crypto_box::SecretKey::from_bytes(*arr))
    }

    /// The data keys a slot's secret opens: the current one, and the pending one of an
    /// interrupted rekey.
    fn unseal_keys(slot: &Slot, sk: &crypto_box::SecretKey) -> Result<Vec<DataKey>> {
        let mut keys = Vec::new();
        for sealed in [&slot.sealed_key, &slot.pending_sealed_key] {
            if sealed.is_empty() {
                continue;
            }
            let plain = Zeroizing::new(
                sk.unseal(&unhex(sealed)?)
                    .map_err(|_| StoreError::Corrupt("密钥槽中的数据密钥无法解开".into()))?,
            );
            keys.push(
                DataKey::from_slice(&plain)
                    .ok_or_else(|| StoreError::Corrupt("密钥槽中的数据密钥长度不对".into()))?,
            );
        }
        Ok(keys)
    }

    /// Candidate data keys for `creds` (the current key first). A wrong password is counted
    /// for its account and slows the next tries of that account down. `self` is a snapshot
    /// read without the lock (the KDF runs unlocked, so logins do not queue behind each
    /// other); the failure count is written to the file of `dir` under the lock.
    /// `now` (Unix seconds, from the caller's clock) times the slowdown.
    pub(crate) fn unlock(&self, dir: &Path, creds: &Credentials, now: u64) -> Result<Vec<DataKey>> {
        let (idx, secret): (Option<usize>, Zeroizing<String>) = match creds {
            Credentials::Password { username, password } => (
                self.slots
                    .iter()
                    .position(|s| s.kind == SlotKind::Password && s.username == *username),
                Zeroizing::new(password.clone()),
            ),
            Credentials::Recovery(text) => (
                self.slots.iter().position(|s| s.kind == SlotKind::Recovery),
                RecoveryKey::normalized(text),
            ),
        };
        let Some(idx) = idx else {
            // Spend the time of a real try so timing does not tell which accounts exist.
            let _ = self.new_slot_kdf.derive(secret.as_bytes(), &[0u8; 16]);
            return Err(StoreError::BadCredentials);
        };
        let slot = &self.slots[idx];
        let wait = throttle_seconds(slot.failures);
        let ready_at = slot.last_failure.saturating_add(wait);
        if wait > 0 && now < ready_at {
            return Err(StoreError::TooManyAttempts(ready_at - now));
        }
        match self.open_slot(slot, secret.as_bytes()) {
            Ok(sk) => {
                let keys = Self::unseal_keys(slot, &sk)?;
                if slot.failures > 0 {
                    Self::update(dir, |fresh| {
                        if let Some(s) = fresh.slots.iter_mut().find(|s| s.id == slot.id) {
                            s.failures = 0;
                            s.last_failure = 0;
                        }
                        Ok(())
                    })?;
                }
                Ok(keys)
            }
            Err(StoreError::BadCredentials) => {
                let failures = Self::update(dir, |fresh| {
                    Ok(fresh.slots.iter_mut().find(|s| s.id == slot.id).map(|s| {
                        s.failures = s.failures.saturating_add(1);
                        s.last_failure = now;
                        s.failures
                    }))
                })?;
                tracing::warn!(?failures, "wrong password for a key slot");
                Err(StoreError::BadCredentials)
            }
            Err(e) => Err(e),
        }
    }

    /// Adds or replaces the password slot of `username` (new account, admin reset).
    pub(crate) fn set_password_slot(
        &mut self,
        username: &str,
        password: &str,
        key: &DataKey,
        now: &str,
    ) -> Result<()> {
        let slot = self.make_slot(
            SlotKind::Password,
            username,
            password.as_bytes(),
            self.new_slot_kdf.at_least(KdfParams::floor()),
            key,
            now,
        )?;
        self.slots
            .retain(|s| !(s.kind == SlotKind::Password && s.username == username));
        self.slots.push(slot);
        Ok(())
    }

    /// Rewraps the secret of `username`'s slot under a new password, after checking the old one.
    /// The sealed data key is unchanged: no other slot is touched.
    pub(crate) fn change_password(&mut self, username: &str, old: &str, new: &str) -> Result<()> {
        let idx = self
            .slots
            .iter()
            .position(|s| s.kind == SlotKind::Password && s.username == username)
            .ok_or(StoreError::BadCredentials)?;
        let sk = self.open_slot(&self.slots[idx], old.as_bytes())?;
        let old_slot = self.slots[idx].clone();
        let kdf = self.new_slot_kdf.at_least(KdfParams::floor());
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let kek = kdf.derive(new.as_bytes(), &salt)?;
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let aad = self.aad(&old_slot.id, old_slot.kind, &old_slot.username, &kdf);
        let sk_bytes = Zeroizing::new(sk.to_bytes());
        let ct = XChaCha20Poly1305::new((&*kek).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &sk_bytes[..],
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Password("加密密钥槽失败".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&ct);
        let slot = &mut self.slots[idx];
        slot.kdf = kdf;
        slot.salt = hex(&salt);
        slot.wrapped_secret = hex(&wrapped);
        slot.failures = 0;
        slot.last_failure = 0;
        Ok(())
    }

    /// Keeps the recovery slot (the first one) and the password slots of `keep(username)`, one
    /// per account: what a rekey seals the new key to. Returns the usernames dropped.
    pub(crate) fn retain_for_rekey(&mut self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let mut dropped = Vec::new();
        let mut seen_recovery = false;
        let mut seen = std::collections::HashSet::new();
        self.slots.retain(|s| {
            let ok = match s.kind {
                SlotKind::Recovery => !std::mem::replace(&mut seen_recovery, true),
                SlotKind::Password => keep(&s.username) && seen.insert(s.username.clone()),
            };
            if !ok {
                dropped.push(s.username.clone());
            }
            ok
        });
        dropped
    }

    /// Rekey, step 1: the new key sealed to every slot beside the current one.
    pub(crate) fn stage(&mut self, new_key: &DataKey) -> Result<()> {
        for slot in &mut self.slots {
            let pk = public_key(&slot.public_key)?;
            slot.pending_sealed_key = seal(&pk, new_key)?;
        }
        Ok(())
    }

    /// Rekey, step 3 (after the database took the new key): the new key becomes current.
    pub(crate) fn promote(&mut self) {
        for slot in &mut self.slots {
            if !slot.pending_sealed_key.is_empty() {
                slot.sealed_key = std::mem::take(&mut slot.pending_sealed_key);
            }
        }
    }

    pub(crate) fn has_password_slot(&self, username: &str) -> bool {
        self.slots
            .iter()
            .any(|s| s.kind == SlotKind::Password && s.username == username)
    }

    /// Usernames with a password slot, in file order.
    pub(crate) fn usernames(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.kind == SlotKind::Password)
            .map(|s| s.username.clone())
            .collect()
    }

    /// Consecutive wrong passwords recorded for `username`.
    pub(crate) fn failures(&self, username: &str) -> u32 {
        self.slots
            .iter()
            .find(|s| s.kind == SlotKind::Password && s.username == username)
            .map_or(0, |s| s.failures)
    }
}

fn public_key(text: &str) -> Result<crypto_box::PublicKey> {
    let bytes: [u8; 32] = unhex(text)?
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{KEYSLOTS_FILE} 中的公钥长度不对")))?;
    Ok(crypto_box::PublicKey::from_bytes(bytes))
}

fn seal(pk: &crypto_box::PublicKey, key: &DataKey) -> Result<String> {
    pk.seal(&mut OsRng, &key.0)
        .map(|ct| hex(&ct))
        .map_err(|_| StoreError::Password("封装数据密钥失败".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-26T09:00:00.000+08:00";

    #[test]
    fn recovery_key_shape() {
        let k = RecoveryKey::random();
        let s = k.as_str();
        assert_eq!(s.len(), 39);
        assert_eq!(s.split('-').count(), 8);
        assert!(s.chars().all(|c| c == '-' || BASE32.contains(&(c as u8))));
        assert_eq!(RecoveryKey::normalized(&s.to_lowercase()).len(), 32);
    }

    #[test]
    fn throttle_grows_and_is_capped() {
        assert_eq!(throttle_seconds(0), 0);
        assert_eq!(throttle_seconds(2), 0);
        assert_eq!(throttle_seconds(3), 2);
        assert_eq!(throttle_seconds(4), 4);
        assert_eq!(throttle_seconds(50), 300);
    }

    #[test]
    fn pragma_literal_is_raw_hex() {
        let k = DataKey([0xab; 32]);
        let lit = k.pragma_literal();
        assert_eq!(lit.len(), 67);
        assert!(lit.starts_with("x'abab") && lit.ends_with("ab'"));
        assert_eq!(format!("{k:?}"), "DataKey(…)");
    }

    #[test]
    fn slot_is_bound_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let (mut slots, key, _rec) = KeySlots::new(KdfParams::INSECURE_FAST, NOW).unwrap();
        slots
            .set_password_slot("alice", "alice-pass-1", &key, NOW)
            .unwrap();
        slots
            .set_password_slot("bob", "bob-pass-12", &key, NOW)
            .unwrap();
        slots.save(&KeySlots::lock(dir.path()).unwrap()).unwrap();
        // Move alice's wrapped secret into bob's slot: the AEAD refuses it.
        let a = slots
            .slots
            .iter()
            .position(|s| s.username == "alice")
            .unwrap();
        let b = slots
            .slots
            .iter()
            .position(|s| s.username == "bob")
            .unwrap();
        let mut forged = slots.clone();
        forged.slots[b].wrapped_secret = slots.slots[a].wrapped_secret.clone();
        forged.slots[b].salt = slots.slots[a].salt.clone();
        assert!(matches!(
            forged.unlock(dir.path(), &Credentials::password("bob", "alice-pass-1"), 0),
            Err(StoreError::BadCredentials)
        ));
        // Downgrading the recorded parameters breaks the AEAD too.
        let mut weak = slots.clone();
        weak.slots[a].kdf.t += 1;
        assert!(
            weak.unlock(
                dir.path(),
                &Credentials::password("alice", "alice-pass-1"),
                0
            )
            .is_err()
        );
        let keys = slots
            .unlock(
                dir.path(),
                &Credentials::password("alice", "alice-pass-1"),
                0,
            )
            .unwrap();
        assert_eq!(keys[0].0, key.0);
    }
}
