//! Segment files: `NNNNNNNNNNNNNNNNNNNN.seg` in the data directory, each a
//! header (`HEARTH01`) and then record frames. Only the newest is written;
//! older ones are read at recovery and by compaction, then deleted.

use crate::record::{Frame, Record, read_frame};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What every segment file starts with.
pub const MAGIC: &[u8; 8] = b"HEARTH01";

/// The path of segment `n` in `dir`.
pub fn path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}.seg"))
}

/// The numbers of the segments in `dir`, oldest first.
pub fn list(dir: &Path) -> io::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Creates segment `n` with its header, synced, and syncs the directory so
/// that the file itself survives a crash.
pub fn create(dir: &Path, n: u64) -> io::Result<File> {
    use std::io::Write;
    let mut file = OpenOptions::new().create_new(true).append(true).open(path(dir, n))?;
    file.write_all(MAGIC)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}

/// Makes a directory's entries (files created or removed) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What reading a segment found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Its records, with the offset and length of each frame.
    pub records: Vec<(Record, u64, u64)>,
    /// Where the good part ends: damage (or the end of the file) starts here.
    pub good_len: u64,
    /// Bytes past the good part (a torn or damaged tail), dropped.
    pub damaged: u64,
}

/// Reads every record of segment `n` up to the first damage.
pub fn scan(dir: &Path, n: u64) -> io::Result<Scan> {
    let mut data = Vec::new();
    File::open(path(dir, n))?.read_to_end(&mut data)?;
    let mut scan = Scan::default();
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        scan.damaged = data.len() as u64;
        return Ok(scan);
    }
    let mut offset = MAGIC.len();
    loop {
        match read_frame(&data[offset..]) {
            Frame::End => break,
            Frame::Body(body, len) => match Record::decode(body) {
                Some(record) => {
                    scan.records.push((record, offset as u64, len as u64));
                    offset += len;
                }
                None => break,
            },
            Frame::Damaged => break,
        }
    }
    scan.good_len = offset as u64;
    scan.damaged = (data.len() - offset) as u64;
    Ok(scan)
}

/// Cuts segment `n` back to `len` bytes (its damaged tail), synced.
pub fn truncate(dir: &Path, n: u64, len: u64) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path(dir, n))?;
    file.set_len(len)?;
    file.sync_all()
}
