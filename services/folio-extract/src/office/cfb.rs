//! Reads streams out of a Compound File Binary container (MS-CFB, "OLE2"): the container of a
//! password-protected OOXML file, whose `EncryptionInfo` and `EncryptedPackage` streams
//! [`crate::office::crypto`] needs. Read-only, and only what that takes: the FAT and mini FAT chains and the
//! streams directly under the root storage.
//!
//! Every sector number, chain and size comes from the file, so each is checked: a sector past the end of
//! the file, a chain that loops or stops short, or a stream larger than the file is `corrupt`; nothing
//! here indexes or allocates on an unchecked number. (The `cfb` crate was not used: it is a read/write
//! library of about 8,700 lines with a record of panics and hangs on fuzzed input, and two streams take a
//! page.)

use folio_core::{ExtractError, ExtractErrorKind};

const MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const HEADER_LEN: usize = 512;
/// Largest regular sector number; the values above it are markers.
const MAX_REG_SECT: u32 = 0xFFFF_FFFA;
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// No sibling or child in the directory tree.
const NO_STREAM: u32 = 0xFFFF_FFFF;
const DIR_ENTRY_LEN: usize = 128;
const MINI_SECTOR_LEN: usize = 64;
const TYPE_STREAM: u8 = 2;
const TYPE_ROOT: u8 = 5;

/// An opened container: its header, FAT and directory, checked.
pub(crate) struct Compound<'a> {
    bytes: &'a [u8],
    sector_len: usize,
    /// Sectors in the file after the header (the last one may be cut short).
    sectors: usize,
    fat: Vec<u32>,
    mini_cutoff: u64,
    first_mini_fat: u32,
    mini_fat_sectors: u32,
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    kind: u8,
    left: u32,
    right: u32,
    child: u32,
    start: u32,
    size: u64,
}

fn damaged(why: impl std::fmt::Display) -> ExtractError {
    ExtractError::new(
        ExtractErrorKind::Corrupt,
        format!("the encrypted Word document's container (OLE2) is damaged: {why}"),
    )
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// The little-endian `u32`s of `b` (a trailing partial one is dropped).
fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl<'a> Compound<'a> {
    pub(crate) fn open(bytes: &'a [u8]) -> Result<Self, ExtractError> {
        if bytes.len() < HEADER_LEN || !bytes.starts_with(MAGIC) {
            return Err(damaged("it is shorter than its header"));
        }
        let header = &bytes[..HEADER_LEN];
        let major = u16_at(header, 0x1A).unwrap_or(0);
        let sector_shift = u16_at(header, 0x1E).unwrap_or(0);
        let sector_len: usize = match sector_shift {
            9 => 512,
            12 => 4096,
            other => return Err(damaged(format!("sector shift {other} (expected 9 or 12)"))),
        };
        if u16_at(header, 0x20) != Some(6) {
            return Err(damaged("its mini sectors are not 64 bytes"));
        }
        let sectors = bytes.len().saturating_sub(sector_len).div_ceil(sector_len);
        let mut me = Self {
            bytes,
            sector_len,
            sectors,
            fat: Vec::new(),
            mini_cutoff: u64::from(u32_at(header, 0x38).unwrap_or(0)),
            first_mini_fat: u32_at(header, 0x3C).unwrap_or(END_OF_CHAIN),
            mini_fat_sectors: u32_at(header, 0x40).unwrap_or(0),
            entries: Vec::new(),
        };
        me.fat = me.read_fat(header)?;
        me.entries = me.read_directory(u32_at(header, 0x30).unwrap_or(END_OF_CHAIN), major)?;
        match me.entries.first() {
            Some(root) if root.kind == TYPE_ROOT => Ok(me),
            _ => Err(damaged("its directory has no root entry")),
        }
    }

    /// The bytes of sector `id` (shorter than a sector only for a file cut in its last sector).
    fn sector(&self, id: u32) -> Result<&'a [u8], ExtractError> {
        let index = usize::try_from(id).unwrap_or(usize::MAX);
        if id > MAX_REG_SECT || index >= self.sectors {
            return Err(damaged(format!("sector {id} is past the end of the file")));
        }
        // index < sectors, so (index + 1) * sector_len <= bytes.len() + sector_len - 1: no overflow.
        let start = (index + 1) * self.sector_len;
        let end = (start + self.sector_len).min(self.bytes.len());
        Ok(&self.bytes[start..end])
    }

    /// The FAT: the sectors the header and the DIFAT chain list, in order.
    fn read_fat(&self, header: &[u8]) -> Result<Vec<u32>, ExtractError> {
        let count = usize::try_from(u32_at(header, 0x2C).unwrap_or(0)).unwrap_or(usize::MAX);
        if count > self.sectors {
            return Err(damaged(format!("it claims {count} FAT sectors in a file of {} sectors", self.sectors)));
        }
        let mut fat_sectors: Vec<u32> = u32s(&header[0x4C..HEADER_LEN]).filter(|s| *s <= MAX_REG_SECT).collect();
        fat_sectors.truncate(count);
        let mut next = u32_at(header, 0x44).unwrap_or(END_OF_CHAIN);
        let mut hops = 0usize;
        while fat_sectors.len() < count && next <= MAX_REG_SECT {
            hops += 1;
            if hops > self.sectors {
                return Err(damaged("its DIFAT chain loops"));
            }
            let sector = self.sector(next)?;
            let per_sector = self.sector_len / 4 - 1;
            fat_sectors.extend(u32s(sector).take(per_sector).filter(|s| *s <= MAX_REG_SECT));
            fat_sectors.truncate(count);
            next = u32_at(sector, per_sector * 4).unwrap_or(END_OF_CHAIN);
        }
        if fat_sectors.len() < count {
            return Err(damaged(format!("it lists {} of its {count} FAT sectors", fat_sectors.len())));
        }
        let mut fat = Vec::with_capacity(count * (self.sector_len / 4));
        for id in fat_sectors {
            fat.extend(u32s(self.sector(id)?));
        }
        Ok(fat)
    }

    /// The sectors of the chain that starts at `start`, following `table` (the FAT, or the mini FAT),
    /// until `wanted` sectors are found or the chain ends. A sector seen twice is a loop.
    fn chain(start: u32, table: &[u32], wanted: usize) -> Result<Vec<u32>, ExtractError> {
        let mut out = Vec::new();
        let mut seen = vec![false; table.len()];
        let mut id = start;
        while out.len() < wanted && id != END_OF_CHAIN {
            let index = usize::try_from(id).unwrap_or(usize::MAX);
            if id > MAX_REG_SECT || index >= table.len() {
                return Err(damaged(format!("a chain points at sector {id}, which it has not")));
            }
            if std::mem::replace(&mut seen[index], true) {
                return Err(damaged("a sector chain loops"));
            }
            out.push(id);
            id = table[index];
        }
        Ok(out)
    }

    /// The `len` bytes of the regular-sector chain that starts at `start`.
    fn read_chain(&self, start: u32, len: u64, what: &str) -> Result<Vec<u8>, ExtractError> {
        let len = self.checked_len(len, what)?;
        let wanted = len.div_ceil(self.sector_len);
        let mut out = Vec::with_capacity(len);
        for id in Self::chain(start, &self.fat, wanted)? {
            out.extend_from_slice(self.sector(id)?);
        }
        if out.len() < len {
            return Err(damaged(format!("{what} is cut short: {} of its {len} bytes are there", out.len())));
        }
        out.truncate(len);
        Ok(out)
    }

    /// `len` as a `usize`, refused when larger than the file could hold.
    fn checked_len(&self, len: u64, what: &str) -> Result<usize, ExtractError> {
        match usize::try_from(len) {
            Ok(n) if n <= self.bytes.len() => Ok(n),
            _ => Err(damaged(format!("{what} claims {len} bytes, more than the file's {}", self.bytes.len()))),
        }
    }

    fn read_directory(&self, start: u32, major: u16) -> Result<Vec<Entry>, ExtractError> {
        let mut raw = Vec::new();
        for id in Self::chain(start, &self.fat, usize::MAX)? {
            raw.extend_from_slice(self.sector(id)?);
        }
        let entries = raw
            .chunks_exact(DIR_ENTRY_LEN)
            .map(|e| {
                let name_len = usize::from(u16_at(e, 0x40).unwrap_or(0)).min(64);
                let units: Vec<u16> = e[..name_len].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                let name = String::from_utf16_lossy(&units).trim_end_matches('\0').to_string();
                let size = u64_at(e, 0x78).unwrap_or(0);
                Entry {
                    name,
                    kind: e[0x42],
                    left: u32_at(e, 0x44).unwrap_or(NO_STREAM),
                    right: u32_at(e, 0x48).unwrap_or(NO_STREAM),
                    child: u32_at(e, 0x4C).unwrap_or(NO_STREAM),
                    start: u32_at(e, 0x74).unwrap_or(END_OF_CHAIN),
                    // Version 3 files may leave garbage in the high half (MS-CFB 2.6.3).
                    size: if major == 3 { size & 0xFFFF_FFFF } else { size },
                }
            })
            .collect();
        Ok(entries)
    }

    /// The stream called `name` (compared as MS-CFB does, ignoring case) directly under the root storage,
    /// or `None` when there is none.
    pub(crate) fn stream(&self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let Some(entry) = self.find(name)? else { return Ok(None) };
        let what = format!("the {name} stream");
        if entry.size >= self.mini_cutoff {
            return self.read_chain(entry.start, entry.size, &what).map(Some);
        }
        // A small stream lives in the mini stream (the root entry's chain), in 64-byte mini sectors.
        let root = &self.entries[0];
        let mini_stream = self.read_chain(root.start, root.size, "the mini stream")?;
        let mini_fat_len = u64::from(self.mini_fat_sectors).saturating_mul(self.sector_len as u64);
        let mini_fat_bytes = self.read_chain(self.first_mini_fat, mini_fat_len, "the mini FAT")?;
        let mini_fat: Vec<u32> = u32s(&mini_fat_bytes).collect();
        let len = self.checked_len(entry.size, &what)?;
        let mut out = Vec::with_capacity(len);
        for id in Self::chain(entry.start, &mini_fat, len.div_ceil(MINI_SECTOR_LEN))? {
            let start = usize::try_from(id).unwrap_or(usize::MAX).saturating_mul(MINI_SECTOR_LEN);
            let sector = mini_stream
                .get(start..start.saturating_add(MINI_SECTOR_LEN).min(mini_stream.len()))
                .filter(|s| !s.is_empty())
                .ok_or_else(|| damaged(format!("mini sector {id} is past the end of the mini stream")))?;
            out.extend_from_slice(sector);
        }
        if out.len() < len {
            return Err(damaged(format!("{what} is cut short: {} of its {len} bytes are there", out.len())));
        }
        out.truncate(len);
        Ok(Some(out))
    }

    /// Walk the root's children (a red-black tree of siblings) for a stream called `name`.
    fn find(&self, name: &str) -> Result<Option<&Entry>, ExtractError> {
        let mut seen = vec![false; self.entries.len()];
        let mut stack = vec![self.entries[0].child];
        while let Some(id) = stack.pop() {
            if id == NO_STREAM {
                continue;
            }
            let index = usize::try_from(id).unwrap_or(usize::MAX);
            let Some(entry) = self.entries.get(index) else {
                return Err(damaged(format!("its directory points at entry {id}, which it has not")));
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(damaged("its directory tree loops"));
            }
            if entry.kind == TYPE_STREAM && entry.name.eq_ignore_ascii_case(name) {
                return Ok(Some(entry));
            }
            stack.push(entry.left);
            stack.push(entry.right);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE_SECT: u32 = 0xFFFF_FFFF;

    /// A version 3 container (512-byte sectors) holding `streams` under the root: streams of 4096 bytes
    /// or more in regular sectors, smaller ones in the mini stream. Sector layout: FAT, directory, mini
    /// FAT, then the regular streams, then the mini stream.
    fn container(streams: &[(&str, &[u8])]) -> Vec<u8> {
        const S: usize = 512;
        let mut mini_stream = Vec::new();
        let mut mini_fat: Vec<u32> = Vec::new();
        let mut big: Vec<u8> = Vec::new();
        let first_big = 3u32; // after the FAT, directory and mini FAT sectors
        let mut fat: Vec<u32> = vec![0xFFFF_FFFD, END_OF_CHAIN, END_OF_CHAIN];
        let mut starts = Vec::new();
        for (_, data) in streams {
            if data.len() >= 4096 {
                let start = first_big + (big.len() / S) as u32;
                let n = data.len().div_ceil(S);
                for i in 0..n {
                    fat.push(if i + 1 == n { END_OF_CHAIN } else { start + i as u32 + 1 });
                }
                big.extend_from_slice(data);
                big.resize(big.len().div_ceil(S) * S, 0);
                starts.push(start);
            } else {
                let start = (mini_stream.len() / 64) as u32;
                let n = data.len().div_ceil(64).max(1);
                for i in 0..n {
                    mini_fat.push(if i + 1 == n { END_OF_CHAIN } else { start + i as u32 + 1 });
                }
                mini_stream.extend_from_slice(data);
                mini_stream.resize(mini_stream.len().div_ceil(64) * 64, 0);
                starts.push(start);
            }
        }
        let mini_start = first_big + (big.len() / S) as u32;
        let mini_sectors = mini_stream.len().div_ceil(S).max(1);
        for i in 0..mini_sectors {
            fat.push(if i + 1 == mini_sectors { END_OF_CHAIN } else { mini_start + i as u32 + 1 });
        }
        assert!(fat.len() <= S / 4 && streams.len() < 4 && mini_fat.len() <= S / 4);
        fat.resize(S / 4, FREE_SECT);
        mini_fat.resize(S / 4, FREE_SECT);

        let mut header = vec![0u8; S];
        header[..8].copy_from_slice(MAGIC);
        header[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes());
        header[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes());
        header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
        header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes());
        header[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes());
        header[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
        header[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes());
        header[0x3C..0x40].copy_from_slice(&2u32.to_le_bytes());
        header[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
        header[0x44..0x48].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        for (i, chunk) in header[0x4C..].chunks_exact_mut(4).enumerate() {
            chunk.copy_from_slice(&(if i == 0 { 0 } else { FREE_SECT }).to_le_bytes());
        }

        let entry = |name: &str, kind: u8, left: u32, right: u32, child: u32, start: u32, size: u64| {
            let mut e = vec![0u8; DIR_ENTRY_LEN];
            let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
            for (i, u) in units.iter().enumerate() {
                e[i * 2..i * 2 + 2].copy_from_slice(&u.to_le_bytes());
            }
            e[0x40..0x42].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
            e[0x42] = kind;
            e[0x44..0x48].copy_from_slice(&left.to_le_bytes());
            e[0x48..0x4C].copy_from_slice(&right.to_le_bytes());
            e[0x4C..0x50].copy_from_slice(&child.to_le_bytes());
            e[0x74..0x78].copy_from_slice(&start.to_le_bytes());
            e[0x78..0x80].copy_from_slice(&size.to_le_bytes());
            e
        };
        let mut dir = entry("Root Entry", TYPE_ROOT, NO_STREAM, NO_STREAM, 1, mini_start, mini_stream.len() as u64);
        // Entries 1..: each the right sibling of the one before (a degenerate but valid tree).
        for (i, ((name, data), start)) in streams.iter().zip(&starts).enumerate() {
            let right = if i + 1 < streams.len() { i as u32 + 2 } else { NO_STREAM };
            dir.extend(entry(name, TYPE_STREAM, NO_STREAM, right, NO_STREAM, *start, data.len() as u64));
        }
        dir.resize(S, 0);

        let mut out = header;
        out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
        out.extend(dir);
        out.extend(mini_fat.iter().flat_map(|v| v.to_le_bytes()));
        out.extend(big);
        mini_stream.resize(mini_sectors * S, 0);
        out.extend(mini_stream);
        out
    }

    #[test]
    fn reads_small_and_large_streams() {
        let small = b"a small stream in the mini stream".to_vec();
        let large: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let bytes = container(&[("EncryptionInfo", &small), ("EncryptedPackage", &large)]);
        let cfb = Compound::open(&bytes).unwrap();
        assert_eq!(cfb.stream("EncryptionInfo").unwrap(), Some(small));
        assert_eq!(cfb.stream("encryptedpackage").unwrap(), Some(large));
        assert_eq!(cfb.stream("Missing").unwrap(), None);
    }

    #[test]
    fn damage_is_corrupt_never_a_panic() {
        let large: Vec<u8> = vec![7; 5000];
        let good = container(&[("EncryptionInfo", b"info"), ("EncryptedPackage", &large)]);
        // Cut at every length, and with single bytes changed in the header, FAT and directory.
        for cut in (0..good.len()).step_by(97) {
            if let Ok(cfb) = Compound::open(&good[..cut]) {
                let _ = cfb.stream("EncryptedPackage");
                let _ = cfb.stream("EncryptionInfo");
            }
        }
        for at in (0..2048).step_by(3) {
            for value in [0x00, 0x01, 0x7F, 0xFF] {
                let mut bytes = good.clone();
                bytes[at] = value;
                if let Ok(cfb) = Compound::open(&bytes) {
                    let _ = cfb.stream("EncryptedPackage");
                    let _ = cfb.stream("EncryptionInfo");
                }
            }
        }
        let cut = Compound::open(&good[..good.len() - 1024]).and_then(|c| c.stream("EncryptedPackage"));
        assert_eq!(cut.unwrap_err().kind, ExtractErrorKind::Corrupt);
    }

    #[test]
    fn a_looping_chain_is_corrupt() {
        let large: Vec<u8> = vec![7; 5000];
        let mut bytes = container(&[("EncryptedPackage", &large)]);
        // The FAT entry of the package's second sector (4) points back at its first (3).
        bytes[512 + 4 * 4..512 + 4 * 4 + 4].copy_from_slice(&3u32.to_le_bytes());
        let err = Compound::open(&bytes).unwrap().stream("EncryptedPackage").unwrap_err();
        assert_eq!(err.kind, ExtractErrorKind::Corrupt);
        assert!(err.message.contains("loops"), "{}", err.message);
    }
}
