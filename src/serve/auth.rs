//! Basic authentication for `serve`, as the exporter-toolkit does it: users and
//! bcrypt hashes from the web configuration; anything else gets `401` with
//! `WWW-Authenticate: Basic` and no detail.
//!
//! bcrypt is slow on purpose (about 50-100 ms at cost 10), and Prometheus sends the
//! same credentials every scrape. So a password that verified once is remembered
//! as a keyed SHA-256 digest and compared in constant time; only a password not
//! seen before costs a bcrypt, one at a time (a flood of wrong passwords takes at
//! most one core). An unknown user is checked against a dummy hash of the same
//! cost, so the answer's timing does not tell which users exist.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The configured users, and the passwords already verified.
pub struct Users {
    hashes: HashMap<String, String>,
    /// A hash of the highest configured cost, for users that do not exist.
    dummy: String,
    /// Per user, the digest of the last password bcrypt accepted.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// One bcrypt at a time.
    gate: tokio::sync::Semaphore,
}

impl Users {
    /// Checks every hash; the error names the user (never the hash).
    pub fn new(users: BTreeMap<String, String>) -> Result<Users, String> {
        // bcrypt's lowest cost, raised to the highest configured.
        let mut cost = 4;
        for (user, hash) in &users {
            let parts: bcrypt::HashParts = hash.parse().map_err(|_| {
                format!(
                    "basic_auth_users.{user}: not a bcrypt hash; fix: make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
                )
            })?;
            cost = cost.max(parts.get_cost());
        }
        // The dummy's password is never sent by anyone: its hash only costs the same time.
        let dummy = bcrypt::hash(random_password(), cost)
            .map_err(|e| format!("basic_auth_users: cannot prepare the bcrypt check: {e}"))?;
        Ok(Users {
            hashes: users.into_iter().collect(),
            dummy,
            verified: Mutex::new(HashMap::new()),
            gate: tokio::sync::Semaphore::new(1),
        })
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether an `Authorization` header value names a user and their password.
    pub async fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(basic) else {
            return false;
        };
        let hash = self.hashes.get(&user);
        let digest = digest(&user, hash.unwrap_or(&self.dummy), &password);
        if hash.is_some() {
            let seen = self
                .verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&user)
                .copied();
            if seen.is_some_and(|d| bool::from(d.ct_eq(&digest))) {
                return true;
            }
        }
        let Ok(_turn) = self.gate.acquire().await else {
            return false;
        };
        let against = hash.unwrap_or(&self.dummy).clone();
        let ok = tokio::task::spawn_blocking(move || {
            bcrypt::verify(&password, &against).unwrap_or(false)
        })
        .await
        .unwrap_or(false)
            && hash.is_some();
        if ok {
            self.verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(user, digest);
        }
        ok
    }
}

/// `Basic base64(user:password)` as the user and the password's bytes.
fn basic(value: &[u8]) -> Option<(String, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let colon = raw.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, raw[colon + 1..].to_vec()))
}

/// What is remembered of a verified password: never the password itself. The
/// configured hash is in it, so a changed hash forgets the old password.
fn digest(user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [user.as_bytes(), hash.as_bytes(), password] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// 24 random bytes as text, from the hasher's own randomness source.
fn random_password() -> String {
    // bcrypt draws its salt from the OS; a salt is 16 random bytes we can reuse.
    bcrypt::hash_with_result("", 4)
        .map(|p| p.get_salt())
        .unwrap_or_else(|_| "nbwatch-dummy".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(cost: u32) -> Users {
        let mut m = BTreeMap::new();
        m.insert(
            "prometheus".to_string(),
            bcrypt::hash("s3cret:with colon", cost).unwrap(),
        );
        Users::new(m).unwrap()
    }

    fn header(user: &str, password: &str) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {token}").into_bytes()
    }

    #[tokio::test]
    async fn the_right_password_passes_and_anything_else_does_not() {
        let u = users(4);
        assert!(
            u.allows(Some(&header("prometheus", "s3cret:with colon")))
                .await
        );
        // Again, from the remembered digest.
        assert!(
            u.allows(Some(&header("prometheus", "s3cret:with colon")))
                .await
        );
        assert!(!u.allows(Some(&header("prometheus", "s3cret"))).await);
        assert!(
            !u.allows(Some(&header("Prometheus", "s3cret:with colon")))
                .await
        );
        assert!(!u.allows(Some(&header("nobody", "s3cret:with colon"))).await);
        assert!(!u.allows(None).await);
        assert!(!u.allows(Some(b"Bearer abc")).await);
        assert!(!u.allows(Some(b"Basic !!!not-base64")).await);
        assert!(!u.allows(Some(b"Basic bm9jb2xvbg==")).await); // "nocolon"
        // The scheme is case-insensitive (RFC 7617).
        let mut lower = header("prometheus", "s3cret:with colon");
        lower[..5].copy_from_slice(b"basic");
        assert!(u.allows(Some(&lower)).await);
    }

    /// A scrape with the password bcrypt already accepted costs no bcrypt: a
    /// hundred of them take less than a tenth of one bcrypt at the usual cost.
    #[tokio::test]
    async fn a_remembered_password_costs_no_bcrypt() {
        let u = users(10);
        let good = header("prometheus", "s3cret:with colon");
        let t = std::time::Instant::now();
        assert!(u.allows(Some(&good)).await);
        let first = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            assert!(u.allows(Some(&good)).await);
        }
        let hundred = t.elapsed();
        println!("bcrypt cost 10, first check: {first:?}; 100 remembered checks: {hundred:?}");
        assert!(
            hundred < first / 10,
            "first {first:?}, 100 more {hundred:?}"
        );
    }

    #[test]
    fn a_bad_hash_is_named_by_its_user_and_not_shown() {
        let mut m = BTreeMap::new();
        m.insert("alice".to_string(), "plaintext-password".to_string());
        let e = Users::new(m).err().unwrap();
        assert!(
            e.starts_with("basic_auth_users.alice: not a bcrypt hash"),
            "{e}"
        );
        assert!(!e.contains("plaintext-password"), "{e}");
    }

    #[test]
    fn the_dummy_hash_costs_what_the_real_ones_do() {
        let u = users(6);
        let parts: bcrypt::HashParts = u.dummy.parse().unwrap();
        assert_eq!(parts.get_cost(), 6);
    }
}
