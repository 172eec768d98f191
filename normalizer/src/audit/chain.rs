//! The audit log's bytes (compliance.md section 1): the chain hash, the RFC 6962 Merkle tree
//! hash, and the two line shapes, written and read back by hand rather than through serde so
//! that the bytes hashed are exactly the bytes on disk (a record's published JSON is embedded
//! verbatim, never re-serialized).
//!
//! - record line: `{"n":<n>,"prev":"<hex>","hash":"<hex>","record":<record bytes>}`
//! - checkpoint line: `{"checkpoint":{"from_n":..,"to_n":..,"tree_size":..,"root":"<hex>",
//!   "head":"<hex>","at":"<RFC 3339>"[,"signature":"<hex>"]}}`
//!
//! The signature is Ed25519 over the checkpoint's canonical JSON: the checkpoint object without
//! `signature`, keys in the order above, no whitespace (`Checkpoint::canonical`).

use schemas::Ts;
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev` of record 1.
pub const GENESIS: Hash = [0u8; 32];

/// `hash = SHA-256(prev || record_bytes)`.
pub fn chain_hash(prev: &Hash, record: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(record);
    h.finalize().into()
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || record_bytes)`.
pub fn leaf_hash(record: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(record);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 Merkle tree hash of the leaves (section 2.1): the empty tree is SHA-256 of nothing;
/// otherwise the tree splits at the largest power of two smaller than its size.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

/// Appends a record line (with its newline).
pub fn write_record_line(n: u64, prev: &Hash, hash: &Hash, record: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"n\":");
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(hex::encode(prev).as_bytes());
    out.extend_from_slice(b"\",\"hash\":\"");
    out.extend_from_slice(hex::encode(hash).as_bytes());
    out.extend_from_slice(b"\",\"record\":");
    out.extend_from_slice(record);
    out.extend_from_slice(b"}\n");
}

/// A record line read back: the record's bytes are a slice of the line.
#[derive(Debug, PartialEq)]
pub struct RecordLine<'a> {
    pub n: u64,
    pub prev: Hash,
    pub hash: Hash,
    pub record: &'a [u8],
}

fn hex32(s: &[u8]) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    // Lower case only: the writer's spelling, so one hash has one spelling.
    s.iter().all(|c| !c.is_ascii_uppercase()).then_some(out)
}

/// Parses a record line (without its newline) in exactly the writer's spelling; `None` for
/// anything else. The record must be one JSON value.
pub fn parse_record_line(line: &[u8]) -> Option<RecordLine<'_>> {
    let rest = line.strip_prefix(b"{\"n\":")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let n: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if n.to_string().len() != digits {
        return None; // leading zeros: not the writer's spelling
    }
    let rest = rest[digits..].strip_prefix(b",\"prev\":\"")?;
    let prev = hex32(rest.get(..64)?)?;
    let rest = rest[64..].strip_prefix(b"\",\"hash\":\"")?;
    let hash = hex32(rest.get(..64)?)?;
    let record = rest[64..]
        .strip_prefix(b"\",\"record\":")?
        .strip_suffix(b"}")?;
    serde_json::from_slice::<serde::de::IgnoredAny>(record).ok()?;
    Some(RecordLine {
        n,
        prev,
        hash,
        record,
    })
}

/// A checkpoint: the Merkle root of records `from_n..=to_n` and the chain head at `to_n`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub from_n: u64,
    pub to_n: u64,
    pub tree_size: u64,
    pub root: String,
    pub head: String,
    pub at: String,
    #[serde(default)]
    pub signature: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    checkpoint: Checkpoint,
}

impl Checkpoint {
    pub fn new(from_n: u64, to_n: u64, root: &Hash, head: &Hash, at: Ts) -> Self {
        Checkpoint {
            from_n,
            to_n,
            tree_size: to_n + 1 - from_n,
            root: hex::encode(root),
            head: hex::encode(head),
            at: at.to_string(),
            signature: None,
        }
    }

    /// The bytes signed: the object without `signature`, in the order of compliance.md.
    pub fn canonical(&self) -> Vec<u8> {
        format!(
            "{{\"from_n\":{},\"to_n\":{},\"tree_size\":{},\"root\":\"{}\",\"head\":\"{}\",\"at\":\"{}\"}}",
            self.from_n, self.to_n, self.tree_size, self.root, self.head, self.at
        )
        .into_bytes()
    }

    /// The line (with its newline).
    pub fn line(&self) -> Vec<u8> {
        let mut c = self.canonical();
        if let Some(sig) = &self.signature {
            c.pop();
            c.extend_from_slice(format!(",\"signature\":\"{sig}\"}}").as_bytes());
        }
        let mut out = b"{\"checkpoint\":".to_vec();
        out.extend_from_slice(&c);
        out.extend_from_slice(b"}\n");
        out
    }

    /// Parses a checkpoint line (without its newline); `None` unless it is one, spelled
    /// exactly as [`Checkpoint::line`] writes it.
    pub fn parse(line: &[u8]) -> Option<Checkpoint> {
        if !line.starts_with(b"{\"checkpoint\":") {
            return None;
        }
        let c: CheckpointLine = serde_json::from_slice(line).ok()?;
        let again = c.checkpoint.line();
        (again[..again.len() - 1] == *line).then_some(c.checkpoint)
    }
}

/// Whether a line is a checkpoint (a cheap test; [`Checkpoint::parse`] checks it).
pub fn is_checkpoint(line: &[u8]) -> bool {
    line.starts_with(b"{\"checkpoint\":")
}

/// Ed25519 signing of checkpoints. The key is read once from its PEM file; neither the key nor
/// the file's contents appear in an error or a log line.
pub mod sign {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
    use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

    /// Why a key could not be loaded: the path and a reason, never the key material.
    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {reason}")]
    pub struct KeyError {
        pub path: String,
        pub reason: String,
    }

    /// Reads an Ed25519 private key (PKCS#8 PEM, `-----BEGIN PRIVATE KEY-----`).
    pub fn load_signing_key(path: &std::path::Path) -> Result<SigningKey, KeyError> {
        let err = |reason: String| KeyError {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        SigningKey::from_pkcs8_pem(&pem)
            .map_err(|_| err("not an Ed25519 private key in PKCS#8 PEM".into()))
    }

    /// Reads an Ed25519 public key (SPKI PEM, `-----BEGIN PUBLIC KEY-----`).
    pub fn load_verifying_key(path: &std::path::Path) -> Result<VerifyingKey, KeyError> {
        let err = |reason: String| KeyError {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        VerifyingKey::from_public_key_pem(&pem)
            .map_err(|_| err("not an Ed25519 public key in SPKI PEM".into()))
    }

    /// The hex signature of `msg`.
    pub fn sign_hex(key: &SigningKey, msg: &[u8]) -> String {
        hex::encode(key.sign(msg).to_bytes())
    }

    /// Whether `sig_hex` is `key`'s signature of `msg`.
    pub fn verify_hex(key: &VerifyingKey, msg: &[u8], sig_hex: &str) -> bool {
        let mut bytes = [0u8; 64];
        if hex::decode_to_slice(sig_hex, &mut bytes).is_err() {
            return false;
        }
        key.verify(msg, &Signature::from_bytes(&bytes)).is_ok()
    }
}
