//! Entity identifiers (ECMA-167 1/7.4; UDF 2.1.5) and the CS0 character set specification
//! (ECMA-167 1/7.2.1; UDF 2.1.2).
//!
//! ```text
//! 0  u8       flags (UDF 2.1.5.1: 0)
//! 1  [u8; 23] identifier, zero padded
//! 24 [u8; 8]  identifier suffix, one of three layouts (UDF 2.1.5.3):
//!    domain:          u16 UDF revision, u8 domain flags, 5 reserved
//!    UDF:             u16 UDF revision, u8 OS class, u8 OS identifier, 4 reserved
//!    implementation:  u8 OS class, u8 OS identifier, 6 implementation use
//! ```
//!
//! Which identifier goes where:
//! * domain `*OSTA UDF Compliant` (domain suffix): LVD domain identifier, FSD domain identifier;
//! * UDF identifiers (UDF suffix): `*UDF LV Info` (IUVD), `*UDF Metadata Partition` (type-2
//!   partition map). UDF defines no `*UDF FE` identifier: file entries carry the
//!   implementation identifier;
//! * implementation identifier `*glassmaster` (implementation suffix): PVD, the IUVD's LV
//!   information, PD, LVD, LVID implementation use, FE/EFE, and the implementation use of a
//!   FID when it has one;
//! * ECMA-167 identifiers `+NSR02` / `+NSR03` (suffix zero): partition contents of the PD.

use super::UdfRevision;

/// Length of an entity identifier.
pub const ENTITY_ID_LEN: usize = 32;
/// Length of a charspec.
pub const CHARSPEC_LEN: usize = 64;

/// Domain identifier of every OSTA UDF volume (UDF 2.1.5.2).
pub const DOMAIN_OSTA_UDF: &[u8] = b"*OSTA UDF Compliant";
/// The implementation use volume descriptor's identifier (UDF 2.2.7.1).
pub const UDF_LV_INFO: &[u8] = b"*UDF LV Info";
/// The type-2 partition map of a metadata partition (UDF 2.2.10).
pub const UDF_METADATA_PARTITION: &[u8] = b"*UDF Metadata Partition";
/// This implementation (UDF 2.1.5.2: starts with `*`, unique to the implementation).
pub const GLASSMASTER: &[u8] = b"*glassmaster";

/// Domain flag: hard write-protect (UDF 2.1.5.3).
pub const DOMAIN_HARD_WRITE_PROTECT: u8 = 0x01;
/// Domain flag: soft write-protect (UDF 2.1.5.3).
pub const DOMAIN_SOFT_WRITE_PROTECT: u8 = 0x02;

/// OS class and OS identifier of identifier suffixes (UDF 2.1.5.3, appendix 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OsId {
    /// OS class: 0 undefined, 1 DOS, 2 OS/2, 3 Macintosh OS, 4 UNIX, 5 Windows 9x, 6 Windows NT,
    /// 7 OS/400, 8 BeOS, 9 Windows CE.
    pub class: u8,
    /// OS identifier within the class (for UNIX: 0 generic, 5 Linux, 7 FreeBSD...).
    pub id: u8,
}

impl OsId {
    /// Class 0 "undefined": the default, so images are the same whatever the build host.
    pub const UNDEFINED: OsId = OsId { class: 0, id: 0 };
    /// UNIX, generic.
    pub const UNIX: OsId = OsId { class: 4, id: 0 };
    /// UNIX, Linux.
    pub const LINUX: OsId = OsId { class: 4, id: 5 };
    /// UNIX, FreeBSD.
    pub const FREEBSD: OsId = OsId { class: 4, id: 7 };
    /// Macintosh OS X (class 3, identifier 1).
    pub const MACOS_X: OsId = OsId { class: 3, id: 1 };
    /// Windows NT.
    pub const WINDOWS_NT: OsId = OsId { class: 6, id: 0 };
}

/// An entity identifier ("regid", ECMA-167 1/7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntityId {
    /// Flags: bit 0 dirty, bit 1 protected (UDF 2.1.5.1: both 0).
    pub flags: u8,
    /// The identifier, zero padded.
    pub identifier: [u8; 23],
    /// The identifier suffix.
    pub suffix: [u8; 8],
}

impl EntityId {
    /// An identifier with flags 0; `ident` is cut to 23 bytes.
    pub fn new(ident: &[u8], suffix: [u8; 8]) -> Self {
        let mut identifier = [0u8; 23];
        let n = ident.len().min(23);
        identifier[..n].copy_from_slice(&ident[..n]);
        EntityId {
            flags: 0,
            identifier,
            suffix,
        }
    }

    /// All zero: "not specified".
    pub const ZERO: EntityId = EntityId {
        flags: 0,
        identifier: [0; 23],
        suffix: [0; 8],
    };

    /// The 32 bytes.
    pub fn encode(&self) -> [u8; ENTITY_ID_LEN] {
        let mut out = [0u8; ENTITY_ID_LEN];
        out[0] = self.flags;
        out[1..24].copy_from_slice(&self.identifier);
        out[24..].copy_from_slice(&self.suffix);
        out
    }

    /// Decodes 32 bytes (`None` if shorter).
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b = b.get(..ENTITY_ID_LEN)?;
        Some(EntityId {
            flags: b[0],
            identifier: b[1..24].try_into().ok()?,
            suffix: b[24..32].try_into().ok()?,
        })
    }

    /// The identifier without its zero padding.
    pub fn ident(&self) -> &[u8] {
        let end = self
            .identifier
            .iter()
            .rposition(|&c| c != 0)
            .map_or(0, |i| i + 1);
        &self.identifier[..end]
    }

    /// Whether the identifier is `ident` (exactly, ignoring the padding).
    pub fn is(&self, ident: &[u8]) -> bool {
        self.ident() == ident
    }

    /// The UDF revision of a domain or UDF suffix (its first two bytes).
    pub fn suffix_revision(&self) -> u16 {
        u16::from_le_bytes([self.suffix[0], self.suffix[1]])
    }
}

/// `*OSTA UDF Compliant` with the domain suffix: revision and domain flags (UDF 2.1.5.3).
/// Read-only images leave both write-protect flags clear: the partition access type already
/// says read-only, and a set hard write-protect flag would stop a user from ever appending.
pub fn domain_id(rev: UdfRevision, flags: u8) -> EntityId {
    let r = rev.bcd().to_le_bytes();
    EntityId::new(DOMAIN_OSTA_UDF, [r[0], r[1], flags, 0, 0, 0, 0, 0])
}

/// A UDF entity identifier (`*UDF ...`) with the UDF suffix (UDF 2.1.5.3).
pub fn udf_id(ident: &[u8], rev: UdfRevision, os: OsId) -> EntityId {
    let r = rev.bcd().to_le_bytes();
    EntityId::new(ident, [r[0], r[1], os.class, os.id, 0, 0, 0, 0])
}

/// The implementation identifier `*glassmaster` with the implementation suffix (OS class, OS
/// identifier, six zero bytes of implementation use; UDF 2.1.5.3).
pub fn implementation_id(os: OsId) -> EntityId {
    EntityId::new(GLASSMASTER, [os.class, os.id, 0, 0, 0, 0, 0, 0])
}

/// The partition contents identifier `+NSR02` / `+NSR03` (ECMA-167 3/10.5.3; UDF 2.2.14.1),
/// suffix zero.
pub fn partition_contents_id(rev: UdfRevision) -> EntityId {
    let mut ident = [0u8; 6];
    ident[0] = b'+';
    ident[1..].copy_from_slice(rev.nsr());
    EntityId::new(&ident, [0; 8])
}

/// The UDF revision of a domain identifier, if it is `*OSTA UDF Compliant`.
pub fn domain_revision(id: &EntityId) -> Option<u16> {
    id.is(DOMAIN_OSTA_UDF).then(|| id.suffix_revision())
}

const OSTA_CS0: &[u8] = b"OSTA Compressed Unicode";

/// The CS0 charspec (UDF 2.1.2): character set type 0, then "OSTA Compressed Unicode",
/// zero padded to 64 bytes.
pub fn cs0_charspec() -> [u8; CHARSPEC_LEN] {
    let mut out = [0u8; CHARSPEC_LEN];
    out[1..1 + OSTA_CS0.len()].copy_from_slice(OSTA_CS0);
    out
}

/// Whether 64 bytes are the CS0 charspec.
pub fn is_cs0_charspec(b: &[u8]) -> bool {
    b.get(..CHARSPEC_LEN) == Some(&cs0_charspec()[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_by_hand() {
        let d = domain_id(UdfRevision::V2_01, 0).encode();
        let mut want = [0u8; 32];
        want[1..20].copy_from_slice(b"*OSTA UDF Compliant");
        want[24] = 0x01;
        want[25] = 0x02;
        assert_eq!(d, want);
        assert_eq!(
            domain_revision(&EntityId::decode(&d).unwrap()),
            Some(0x0201)
        );
        let d = domain_id(UdfRevision::V2_60, DOMAIN_SOFT_WRITE_PROTECT).encode();
        assert_eq!(&d[24..27], &[0x60, 0x02, 0x02]);
    }

    #[test]
    fn udf_and_impl_suffixes() {
        let u = udf_id(UDF_LV_INFO, UdfRevision::V1_50, OsId::LINUX).encode();
        assert_eq!(&u[1..13], b"*UDF LV Info");
        assert_eq!(&u[24..], &[0x50, 0x01, 4, 5, 0, 0, 0, 0]);
        let i = implementation_id(OsId::UNIX).encode();
        assert_eq!(&i[1..13], b"*glassmaster");
        assert_eq!(&i[24..], &[4, 0, 0, 0, 0, 0, 0, 0]);
        let p = partition_contents_id(UdfRevision::V1_02).encode();
        assert_eq!(&p[..8], b"\0+NSR02\0");
        assert_eq!(&p[24..], &[0; 8]);
        assert!(
            EntityId::decode(&partition_contents_id(UdfRevision::V2_50).encode())
                .unwrap()
                .is(b"+NSR03")
        );
    }

    #[test]
    fn long_identifier_is_cut() {
        let e = EntityId::new(&[b'x'; 30], [0; 8]);
        assert_eq!(e.ident(), &[b'x'; 23]);
        assert_eq!(EntityId::decode(&e.encode()), Some(e));
        assert_eq!(EntityId::decode(&[0; 31]), None);
        assert_eq!(EntityId::ZERO.ident(), b"");
    }

    #[test]
    fn charspec() {
        let c = cs0_charspec();
        assert_eq!(c[0], 0);
        assert_eq!(&c[1..24], b"OSTA Compressed Unicode");
        assert!(c[24..].iter().all(|&b| b == 0));
        assert!(is_cs0_charspec(&c));
        assert!(!is_cs0_charspec(&c[..63]));
    }
}
