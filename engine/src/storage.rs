//! All file I/O of the engine goes through [`Storage`]: files by name in one flat directory.
//!
//! Implementations: [`FileStorage`] (a real directory), [`MemStorage`] (in memory, no crash
//! model) and [`CrashStorage`] (in memory, tracks durable vs live bytes and the durable
//! directory namespace, can simulate a crash and inject I/O errors).
//!
//! Invariants the engine relies on (and `CrashStorage` models):
//! - `append`/`write_at` + `sync(name)` makes the file's bytes durable; bytes not yet
//!   synced may be lost, or a prefix of the unsynced change may survive (torn write),
//!   after a crash.
//! - `create`, `rename` and `remove` change the directory; they are durable only after
//!   `sync_dir`. A crash rolls the directory back to its last synced state.
//! - `rename` replaces the target atomically.
//! - File names are plain names (no `/`, not `.` or `..`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// File access used by the engine. See the module docs for the durability contract.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Creates `name` empty (truncating it if it exists).
    fn create(&self, name: &str) -> io::Result<()>;
    /// Appends `data` at the end of `name`.
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Writes `data` at `offset` of `name` (`offset` at most the file's length), extending
    /// the file if it reaches past the end.
    fn write_at(&self, name: &str, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Fills `buf` from `offset`; `UnexpectedEof` if the file is shorter.
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Current length of `name`.
    fn len(&self, name: &str) -> io::Result<u64>;
    /// Cuts `name` to `len` bytes.
    fn truncate(&self, name: &str, len: u64) -> io::Result<()>;
    /// Makes the content of `name` durable (fsync).
    fn sync(&self, name: &str) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes `name`.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Names of all files.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Makes directory changes (create, rename, remove) durable.
    fn sync_dir(&self) -> io::Result<()>;

    /// A read-only map of the whole of `name` as it is now, for a file the engine never
    /// writes, truncates or renames over again (a committed array). `None` where this
    /// storage has no file to map (in memory: the caller reads with `read_at`, so the crash
    /// model and its injected errors keep covering every read).
    fn map(&self, name: &str) -> io::Result<Option<memmap2::Mmap>> {
        let _ = name;
        Ok(None)
    }

    /// Whole content of `name`.
    fn read_all(&self, name: &str) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len(name)?)
            .map_err(|_| io::Error::new(ErrorKind::InvalidData, "file too large"))?;
        let mut buf = vec![0u8; len];
        self.read_at(name, 0, &mut buf)?;
        Ok(buf)
    }
}

fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("bad file name {name:?}"),
        ));
    }
    Ok(())
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(ErrorKind::NotFound, format!("no such file: {name}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a storage lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Name of the lock file that keeps two engines out of one directory.
pub const LOCK_FILE: &str = "LOCK";

/// A real directory. Open handles are cached so `pread`/append do not reopen files.
/// Holds an exclusive advisory lock on `LOCK` for its lifetime: two engines writing the
/// same directory would destroy each other's files.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    handles: Mutex<HashMap<String, Arc<File>>>,
    _lock: File,
}

impl FileStorage {
    /// Uses (and creates if missing) directory `dir`; fails with `WouldBlock` if another
    /// `FileStorage` (in any process) holds the directory.
    pub fn new(dir: impl AsRef<Path>) -> io::Result<FileStorage> {
        std::fs::create_dir_all(dir.as_ref())?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.as_ref().join(LOCK_FILE))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => io::Error::new(
                ErrorKind::WouldBlock,
                format!("{} is in use by another engine", dir.as_ref().display()),
            ),
            std::fs::TryLockError::Error(e) => e,
        })?;
        Ok(FileStorage {
            dir: dir.as_ref().to_path_buf(),
            handles: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    fn path(&self, name: &str) -> io::Result<PathBuf> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }

    fn handle(&self, name: &str) -> io::Result<Arc<File>> {
        if let Some(f) = lock(&self.handles).get(name) {
            return Ok(f.clone());
        }
        // Not O_APPEND: Linux pwrite() on an O_APPEND file ignores the offset.
        let file = Arc::new(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(self.path(name)?)?,
        );
        lock(&self.handles).insert(name.to_string(), file.clone());
        Ok(file)
    }
}

impl Storage for FileStorage {
    fn create(&self, name: &str) -> io::Result<()> {
        lock(&self.handles).remove(name);
        File::create(self.path(name)?)?;
        Ok(())
    }
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let f = self.handle(name)?;
        (&*f).seek(SeekFrom::End(0))?;
        (&*f).write_all(data)
    }
    fn write_at(&self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        self.handle(name)?.write_all_at(data, offset)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.handle(name)?.read_exact_at(buf, offset)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        Ok(self.handle(name)?.metadata()?.len())
    }
    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        self.handle(name)?.set_len(len)
    }
    fn sync(&self, name: &str) -> io::Result<()> {
        self.handle(name)?.sync_data()
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (src, dst) = (self.path(from)?, self.path(to)?);
        let mut handles = lock(&self.handles);
        handles.remove(from);
        handles.remove(to);
        std::fs::rename(src, dst)
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        let path = self.path(name)?;
        lock(&self.handles).remove(name);
        std::fs::remove_file(path)
    }
    fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Ok(name) = entry.file_name().into_string() {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }
    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
    fn map(&self, name: &str) -> io::Result<Option<memmap2::Mmap>> {
        let file = self.handle(name)?;
        // SAFETY: a map is undefined behaviour only if the file changes under it. The engine
        // maps only committed arrays, which it never writes, truncates or renames over again
        // (it removes them, which leaves the mapped inode intact until the map is dropped),
        // and the `LOCK` flock keeps other engines out of the directory. A shorter file at
        // open is caught before any block is read: every block offset is checked against
        // the length of this map.
        let map = unsafe { memmap2::Mmap::map(&*file)? };
        Ok(Some(map))
    }
}

/// In-memory files without a crash model (every write is immediately "durable").
#[derive(Debug, Default)]
pub struct MemStorage {
    files: Mutex<HashMap<String, Arc<Mutex<Vec<u8>>>>>,
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }
    fn file(&self, name: &str) -> io::Result<Arc<Mutex<Vec<u8>>>> {
        lock(&self.files)
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }
}

fn read_slice(data: &[u8], offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let start = usize::try_from(offset).map_err(|_| io::Error::from(ErrorKind::UnexpectedEof))?;
    let src = start
        .checked_add(buf.len())
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| io::Error::from(ErrorKind::UnexpectedEof))?;
    buf.copy_from_slice(src);
    Ok(())
}

fn truncate_vec(data: &mut Vec<u8>, len: u64) {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    data.resize(len, 0);
}

/// `write_at` on an in-memory file; refuses to leave a hole.
fn write_vec_at(file: &mut Vec<u8>, offset: u64, data: &[u8]) -> io::Result<()> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&o| o <= file.len())
        .ok_or_else(|| io::Error::other("write_at past the end of the file"))?;
    let end = start + data.len();
    if end > file.len() {
        file.resize(end, 0);
    }
    if let Some(target) = file.get_mut(start..end) {
        target.copy_from_slice(data);
    }
    Ok(())
}

impl Storage for MemStorage {
    fn create(&self, name: &str) -> io::Result<()> {
        check_name(name)?;
        lock(&self.files).insert(name.to_string(), Arc::new(Mutex::new(Vec::new())));
        Ok(())
    }
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        let f = self.file(name)?;
        lock(&f).extend_from_slice(data);
        Ok(())
    }
    fn write_at(&self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        let f = self.file(name)?;
        let mut data_now = lock(&f);
        write_vec_at(&mut data_now, offset, data)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = self.file(name)?;
        let data = lock(&f);
        read_slice(&data, offset, buf)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        let f = self.file(name)?;
        let len = lock(&f).len();
        Ok(len as u64)
    }
    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let f = self.file(name)?;
        truncate_vec(&mut lock(&f), len);
        Ok(())
    }
    fn sync(&self, name: &str) -> io::Result<()> {
        self.file(name).map(|_| ())
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        check_name(to)?;
        let mut files = lock(&self.files);
        let f = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_string(), f);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        lock(&self.files)
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(lock(&self.files).keys().cloned().collect())
    }
    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
}

/// What survives a simulated crash in [`CrashStorage::crash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Process kill (`kill -9`): everything handed to the OS survives, synced or not,
    /// including directory changes.
    KeepAll,
    /// Power loss: only synced bytes and synced directory entries survive.
    DropUnsynced,
    /// Power loss with torn writes: like `DropUnsynced`, but each file keeps a
    /// pseudo-random prefix (chosen from `seed`) of its unsynced tail.
    TearUnsynced { seed: u64 },
}

#[derive(Debug, Default, Clone)]
struct Inode {
    /// Bytes guaranteed to survive a crash (as of the last `sync`).
    durable: Vec<u8>,
    /// Bytes visible now.
    live: Vec<u8>,
}

#[derive(Debug, Default)]
struct CrashState {
    inodes: Vec<Inode>,
    /// Directory as visible now: name -> inode.
    live_dir: HashMap<String, usize>,
    /// Directory as of the last `sync_dir`.
    durable_dir: HashMap<String, usize>,
}

/// In-memory storage with a crash model and fault injection, for crash and error tests.
///
/// * Every file has *live* bytes (what reads see) and *durable* bytes (what `sync` last
///   made durable); the directory has a live and a durable namespace (`sync_dir`).
/// * [`CrashStorage::crash`] returns a **new** storage holding the post-crash image and
///   marks this one dead: every later call on it fails, so an engine still holding it
///   (and its background threads) cannot touch the post-crash image. Reopen the engine on
///   the returned storage.
/// * [`CrashStorage::fail_after`] makes every call after the next `n` calls fail with an
///   I/O error (a disk going bad); [`CrashStorage::op_count`] counts calls so a test can
///   first count the calls of a workload and then replay it failing at every point.
#[derive(Debug, Default)]
pub struct CrashStorage {
    state: Mutex<CrashState>,
    ops: AtomicU64,
    /// Calls allowed before injected failures start (`u64::MAX` = never).
    fail_at: AtomicU64,
    dead: AtomicBool,
}

impl CrashStorage {
    pub fn new() -> CrashStorage {
        CrashStorage {
            fail_at: AtomicU64::new(u64::MAX),
            ..CrashStorage::default()
        }
    }

    /// Number of storage calls made so far.
    pub fn op_count(&self) -> u64 {
        self.ops.load(Ordering::SeqCst)
    }

    /// Every call after the next `n` calls fails with an injected I/O error.
    pub fn fail_after(&self, n: u64) {
        self.fail_at
            .store(self.op_count().saturating_add(n), Ordering::SeqCst);
    }

    /// Stops injecting failures.
    pub fn stop_failing(&self) {
        self.fail_at.store(u64::MAX, Ordering::SeqCst);
    }

    /// Bytes of `name` that would survive a power loss now.
    pub fn durable_len(&self, name: &str) -> Option<usize> {
        let st = lock(&self.state);
        st.durable_dir
            .get(name)
            .and_then(|&i| st.inodes.get(i))
            .map(|n| n.durable.len())
    }

    /// Flips one bit of the live (and durable) content of `name` at `offset`, to test
    /// checksum detection. Returns false if the file or offset does not exist.
    pub fn corrupt_byte(&self, name: &str, offset: usize) -> bool {
        let mut st = lock(&self.state);
        let Some(&i) = st.live_dir.get(name) else {
            return false;
        };
        let Some(inode) = st.inodes.get_mut(i) else {
            return false;
        };
        let mut hit = false;
        for bytes in [&mut inode.live, &mut inode.durable] {
            if let Some(b) = bytes.get_mut(offset) {
                *b ^= 0x10;
                hit = true;
            }
        }
        hit
    }

    /// Simulates a crash: returns a fresh storage holding what survives under `mode`, and
    /// makes this storage fail every later call.
    pub fn crash(&self, mode: CrashMode) -> Arc<CrashStorage> {
        self.dead.store(true, Ordering::SeqCst);
        let st = lock(&self.state);
        let dir = if mode == CrashMode::KeepAll {
            &st.live_dir
        } else {
            &st.durable_dir
        };
        let mut rng = match mode {
            CrashMode::TearUnsynced { seed } => seed | 1,
            _ => 0,
        };
        let mut image = CrashState::default();
        for (name, &ino) in dir {
            let Some(inode) = st.inodes.get(ino) else {
                continue;
            };
            let bytes = match mode {
                CrashMode::KeepAll => inode.live.clone(),
                CrashMode::DropUnsynced => inode.durable.clone(),
                CrashMode::TearUnsynced { .. } => torn_image(inode, &mut rng),
            };
            image.inodes.push(Inode {
                durable: bytes.clone(),
                live: bytes,
            });
            image.live_dir.insert(name.clone(), image.inodes.len() - 1);
        }
        image.durable_dir = image.live_dir.clone();
        Arc::new(CrashStorage {
            state: Mutex::new(image),
            ops: AtomicU64::new(0),
            fail_at: AtomicU64::new(u64::MAX),
            dead: AtomicBool::new(false),
        })
    }

    fn begin(&self) -> io::Result<MutexGuard<'_, CrashState>> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        if self.dead.load(Ordering::SeqCst) {
            return Err(io::Error::other("storage crashed"));
        }
        if n >= self.fail_at.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected I/O error"));
        }
        Ok(lock(&self.state))
    }
}

/// Durable bytes with a pseudo-random prefix of the unsynced change applied: the live bytes
/// from the first byte that differs from the durable image up to a random length (a torn
/// append keeps a prefix of its tail; a torn overwrite of padding keeps a prefix of the
/// new bytes and the old zeros after it). A truncation that was not synced is undone.
fn torn_image(inode: &Inode, rng: &mut u64) -> Vec<u8> {
    let mut out = inode.durable.clone();
    let first_change = inode
        .live
        .iter()
        .zip(&inode.durable)
        .position(|(a, b)| a != b)
        .unwrap_or(inode.live.len().min(inode.durable.len()));
    let changed = inode.live.get(first_change..).unwrap_or_default();
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let keep = usize::try_from(*rng % (changed.len() as u64 + 1)).unwrap_or(0);
    let kept = changed.get(..keep).unwrap_or_default();
    if write_vec_at(&mut out, first_change as u64, kept).is_err() {
        return inode.durable.clone();
    }
    out
}

impl CrashState {
    fn inode(&mut self, name: &str) -> io::Result<&mut Inode> {
        let i = *self.live_dir.get(name).ok_or_else(|| not_found(name))?;
        self.inodes.get_mut(i).ok_or_else(|| not_found(name))
    }
}

impl Storage for CrashStorage {
    fn create(&self, name: &str) -> io::Result<()> {
        check_name(name)?;
        let mut st = self.begin()?;
        st.inodes.push(Inode::default());
        let ino = st.inodes.len() - 1;
        st.live_dir.insert(name.to_string(), ino);
        Ok(())
    }
    fn append(&self, name: &str, data: &[u8]) -> io::Result<()> {
        self.begin()?.inode(name)?.live.extend_from_slice(data);
        Ok(())
    }
    fn write_at(&self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        write_vec_at(&mut self.begin()?.inode(name)?.live, offset, data)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_slice(&self.begin()?.inode(name)?.live, offset, buf)
    }
    fn len(&self, name: &str) -> io::Result<u64> {
        Ok(self.begin()?.inode(name)?.live.len() as u64)
    }
    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        truncate_vec(&mut self.begin()?.inode(name)?.live, len);
        Ok(())
    }
    fn sync(&self, name: &str) -> io::Result<()> {
        let mut st = self.begin()?;
        let inode = st.inode(name)?;
        inode.durable = inode.live.clone();
        Ok(())
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        check_name(to)?;
        let mut st = self.begin()?;
        let ino = st.live_dir.remove(from).ok_or_else(|| not_found(from))?;
        st.live_dir.insert(to.to_string(), ino);
        Ok(())
    }
    fn remove(&self, name: &str) -> io::Result<()> {
        self.begin()?
            .live_dir
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.begin()?.live_dir.keys().cloned().collect())
    }
    fn sync_dir(&self) -> io::Result<()> {
        let mut st = self.begin()?;
        st.durable_dir = st.live_dir.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn Storage) {
        s.create("a").unwrap();
        s.append("a", b"hello ").unwrap();
        s.append("a", b"world").unwrap();
        assert_eq!(s.len("a").unwrap(), 11);
        s.write_at("a", 0, b"H").unwrap();
        s.write_at("a", 11, b"!").unwrap();
        s.append("a", b"?").unwrap();
        assert_eq!(s.read_all("a").unwrap(), b"Hello world!?");
        s.write_at("a", 0, b"h").unwrap();
        s.truncate("a", 11).unwrap();
        let mut buf = [0u8; 5];
        s.read_at("a", 6, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert!(s.read_at("a", 8, &mut buf).is_err());
        s.truncate("a", 5).unwrap();
        assert_eq!(s.read_all("a").unwrap(), b"hello");
        s.rename("a", "b").unwrap();
        assert!(s.list().unwrap().contains(&"b".to_string()));
        assert!(!s.list().unwrap().contains(&"a".to_string()));
        s.remove("b").unwrap();
        assert!(s.len("b").is_err());
        assert!(s.create("../x").is_err());
    }

    #[test]
    fn all_backends_behave_alike() {
        exercise(&MemStorage::new());
        exercise(&CrashStorage::new());
        let dir = std::env::temp_dir().join(format!("strata-storage-test-{}", std::process::id()));
        let files = FileStorage::new(&dir).unwrap();
        exercise(&files);
        assert_eq!(
            FileStorage::new(&dir).unwrap_err().kind(),
            ErrorKind::WouldBlock,
            "the directory is locked"
        );
        drop(files);
        FileStorage::new(&dir).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn crash_drops_unsynced_bytes_and_directory_changes() {
        let s = CrashStorage::new();
        s.create("f").unwrap();
        s.append("f", b"durable").unwrap();
        s.sync("f").unwrap();
        s.sync_dir().unwrap();
        s.append("f", b" lost").unwrap();
        s.create("g").unwrap();
        let after = s.crash(CrashMode::DropUnsynced);
        assert_eq!(after.read_all("f").unwrap(), b"durable");
        assert!(after.len("g").is_err());
        assert!(s.len("f").is_err(), "the crashed storage is dead");
        let kept = after.crash(CrashMode::KeepAll);
        assert_eq!(kept.read_all("f").unwrap(), b"durable");
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_the_unsynced_tail() {
        let s = CrashStorage::new();
        s.create("f").unwrap();
        s.sync_dir().unwrap();
        s.append("f", b"0123456789").unwrap();
        for seed in 0..20 {
            let after = s.crash_copy_for_test(CrashMode::TearUnsynced { seed });
            let got = after.read_all("f").unwrap();
            assert!(b"0123456789".starts_with(&got));
        }
    }

    #[test]
    fn torn_crash_of_an_overwrite_keeps_a_prefix_of_the_new_bytes_over_the_old() {
        let s = CrashStorage::new();
        s.create("f").unwrap();
        s.append("f", &[0u8; 10]).unwrap();
        s.sync("f").unwrap();
        s.sync_dir().unwrap();
        s.write_at("f", 2, b"abcd").unwrap();
        let mut seen = std::collections::HashSet::new();
        for seed in 0..40 {
            let got = s
                .crash_copy_for_test(CrashMode::TearUnsynced { seed })
                .read_all("f")
                .unwrap();
            assert_eq!(got.len(), 10);
            let kept = got[2..6].iter().take_while(|&&b| b != 0).count();
            assert_eq!(&got[2..2 + kept], &b"abcd"[..kept]);
            assert!(got[2 + kept..].iter().all(|&b| b == 0));
            seen.insert(kept);
        }
        assert!(seen.len() > 2, "tears at several points: {seen:?}");
        assert!(s.write_at("f", 11, b"x").is_err(), "no holes");
    }

    #[test]
    fn injected_failures_start_after_n_calls() {
        let s = CrashStorage::new();
        s.fail_after(2);
        s.create("f").unwrap();
        s.append("f", b"x").unwrap();
        assert!(s.append("f", b"y").is_err());
        s.stop_failing();
        assert_eq!(s.read_all("f").unwrap(), b"x");
    }

    impl CrashStorage {
        /// Like `crash`, but leaves `self` usable (test helper).
        fn crash_copy_for_test(&self, mode: CrashMode) -> Arc<CrashStorage> {
            let out = self.crash(mode);
            self.dead.store(false, Ordering::SeqCst);
            out
        }
    }
}
