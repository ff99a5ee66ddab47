//! The common store interface and the fjall and redb adapters.

use std::path::Path;

use anyhow::Result;

/// Key = (queue id u32, seq u64), big-endian, so keys sort in FIFO order.
pub type Key = [u8; 12];

/// Builds a key.
pub fn key(queue: u32, seq: u64) -> Key {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&queue.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// A recovered message.
pub struct Msg {
    pub key: Key,
    pub value: Vec<u8>,
}

/// What the benchmark needs from a store. Every mutating call returns only
/// after its data is durable (fsynced).
pub trait Store: Sized {
    const NAME: &'static str;
    /// Opens or creates the store in `dir` (a directory it owns).
    fn open(dir: &Path) -> Result<Self>;
    /// Opens the store and collects every live record, in key / log order.
    fn open_and_load(dir: &Path) -> Result<(Self, Vec<Msg>)>;
    /// Writes the whole batch and makes it durable with one sync.
    fn append_batch(&mut self, batch: &[(Key, Vec<u8>)]) -> Result<()>;
    /// Deletes the keys and makes that durable with one sync.
    fn delete_batch(&mut self, keys: &[Key]) -> Result<()>;
    /// The store's explicit space-reclaim call (for reference only).
    fn compact(&mut self) -> Result<()>;
    /// Clean shutdown.
    fn close(self) -> Result<()>;
}

// ---------------------------------------------------------------- fjall

/// fjall: one keyspace, write batches committed with `PersistMode::SyncData`.
pub struct FjallStore {
    db: fjall::Database,
    ks: fjall::Keyspace,
}

impl Store for FjallStore {
    const NAME: &'static str = "fjall";

    fn open(dir: &Path) -> Result<Self> {
        // manual_journal_persist: the batch's own durability (SyncData) is
        // the only thing that persists; nothing is flushed behind our back.
        let db = fjall::Database::builder(dir).manual_journal_persist(true).open()?;
        let ks = db.keyspace("msgs", fjall::KeyspaceCreateOptions::default)?;
        Ok(Self { db, ks })
    }

    fn open_and_load(dir: &Path) -> Result<(Self, Vec<Msg>)> {
        let s = Self::open(dir)?;
        let mut out = Vec::new();
        for g in s.ks.iter() {
            let (k, v) = g.into_inner()?;
            out.push(Msg { key: (&*k).try_into()?, value: v.to_vec() });
        }
        Ok((s, out))
    }

    fn append_batch(&mut self, batch: &[(Key, Vec<u8>)]) -> Result<()> {
        let mut b = self.db.batch().durability(Some(fjall::PersistMode::SyncData));
        for (k, v) in batch {
            b.insert(&self.ks, k.as_slice(), v.as_slice());
        }
        b.commit()?;
        Ok(())
    }

    fn delete_batch(&mut self, keys: &[Key]) -> Result<()> {
        let mut b = self.db.batch().durability(Some(fjall::PersistMode::SyncData));
        for k in keys {
            b.remove(&self.ks, k.as_slice());
        }
        b.commit()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<()> {
        // flush the memtable (where the tombstones are) to a table, then
        // compact everything into the last level, dropping tombstoned data
        self.ks.rotate_memtable_and_wait()?;
        self.ks.major_compact()?;
        Ok(())
    }

    fn close(self) -> Result<()> {
        self.db.persist(fjall::PersistMode::SyncAll)?;
        drop(self.ks);
        drop(self.db);
        Ok(())
    }
}

// ---------------------------------------------------------------- redb

use redb::{ReadableDatabase, ReadableTable};

/// Set when the last `open_and_load` had to repair the file (after a crash).
pub static REDB_REPAIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

const TABLE: redb::TableDefinition<&[u8; 12], &[u8]> = redb::TableDefinition::new("msgs");

/// redb: one table, one write transaction per batch, `Durability::Immediate`
/// (the default: 1-phase commit, one fsync per commit), quick-repair off.
pub struct RedbStore {
    db: redb::Database,
}

impl Store for RedbStore {
    const NAME: &'static str = "redb";

    fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = redb::Database::create(dir.join("data.redb"))?;
        let s = Self { db };
        // make sure the table exists, so a read of an empty store works
        let tx = s.db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(s)
    }

    fn open_and_load(dir: &Path) -> Result<(Self, Vec<Msg>)> {
        let db = redb::Builder::new()
            .set_repair_callback(|_| REDB_REPAIRED.store(true, std::sync::atomic::Ordering::Relaxed))
            .create(dir.join("data.redb"))?;
        let mut out = Vec::new();
        {
            let rtx = db.begin_read()?;
            let t = rtx.open_table(TABLE)?;
            for r in t.iter()? {
                let (k, v) = r?;
                out.push(Msg { key: *k.value(), value: v.value().to_vec() });
            }
        }
        Ok((Self { db }, out))
    }

    fn append_batch(&mut self, batch: &[(Key, Vec<u8>)]) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(redb::Durability::Immediate)?;
        {
            let mut t = tx.open_table(TABLE)?;
            for (k, v) in batch {
                t.insert(k, v.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delete_batch(&mut self, keys: &[Key]) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(redb::Durability::Immediate)?;
        {
            let mut t = tx.open_table(TABLE)?;
            for k in keys {
                t.remove(k)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<()> {
        while self.db.compact()? {}
        Ok(())
    }

    fn close(self) -> Result<()> {
        self.db.close()?;
        Ok(())
    }
}
