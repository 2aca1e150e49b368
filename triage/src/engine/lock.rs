//! One campaign per output directory: `OUT/.lock`, locked (`flock`, released by the kernel
//! when its holder dies, however it dies) for the whole run and holding the holder's PID.
//! The engine process groups the run has started are listed in `OUT/.engines`; a run that
//! takes over the directory from one that was killed stops what that one left running.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::Fail;

/// The lock on one output directory, held until dropped (or the process ends).
pub struct OutLock {
    _file: File,
    engines: PathBuf,
    groups: Mutex<BTreeSet<u32>>,
}

fn io(p: &Path, e: std::io::Error) -> Fail {
    Fail::Usage(format!("{}: {e}", p.display()))
}

impl OutLock {
    /// Lock `root` (created before). Another live run holding it is a one-line error
    /// naming its PID. A lock left by a run that died is taken over, and the engine groups
    /// it left are stopped.
    pub fn acquire(root: &Path) -> Result<Self, Fail> {
        let path = root.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut before = String::new();
        let _ = file.read_to_string(&mut before);
        let holder = before.trim().parse::<u32>().ok();
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Fail::Usage(format!(
                    "{}: in use by another sintfuzz run (pid {}); wait for it to end, or use another --out",
                    root.display(),
                    holder.map_or("unknown".to_string(), |p| p.to_string())
                )))
            }
            Err(TryLockError::Error(e)) => return Err(io(&path, e)),
        }
        let lock = OutLock {
            engines: root.join(".engines"),
            groups: Mutex::new(BTreeSet::new()),
            _file: file,
        };
        if let Some(pid) = holder.filter(|&p| p != std::process::id()) {
            let stopped = lock.stop_leftover_engines();
            eprintln!(
                "sintfuzz: {}: taking over from an earlier run (pid {pid}) that did not finish{}",
                root.display(),
                if stopped > 0 {
                    format!("; stopped {stopped} engine process group(s) it left running")
                } else {
                    String::new()
                }
            );
        }
        let mut f = &lock._file;
        f.set_len(0)
            .and_then(|_| f.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|_| writeln!(f, "{}", std::process::id()))
            .map_err(|e| io(&path, e))?;
        lock.save();
        Ok(lock)
    }

    /// Kill the process groups an earlier run listed that still exist as groups.
    fn stop_leftover_engines(&self) -> usize {
        let text = std::fs::read_to_string(&self.engines).unwrap_or_default();
        let mut n = 0;
        let root = self.engines.parent().and_then(|r| r.canonicalize().ok());
        for pgid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
            // Ours for sure: a group leader still working inside this output directory
            // (engines run in OUT/work/...), not a stranger that reused the id.
            let cwd = std::fs::read_link(format!("/proc/{pgid}/cwd")).ok();
            let inside = matches!((&cwd, &root), (Some(c), Some(r)) if c.starts_with(r));
            if inside && is_group_leader(pgid) {
                // SAFETY: kill(2) on a process group id; no memory is involved.
                unsafe { libc::kill(-(pgid as i32), libc::SIGKILL) };
                n += 1;
            }
        }
        n
    }

    /// An engine process group started by this run.
    pub fn started(&self, pgid: u32) {
        self.groups.lock().expect("not poisoned").insert(pgid);
        self.save();
    }

    /// An engine process group this run has stopped and waited for.
    pub fn ended(&self, pgid: u32) {
        self.groups.lock().expect("not poisoned").remove(&pgid);
        self.save();
    }

    fn save(&self) {
        let groups = self.groups.lock().expect("not poisoned");
        let text: String = groups.iter().map(|g| format!("{g}\n")).collect();
        let _ = std::fs::write(&self.engines, text);
    }
}

/// Whether `pgid` is a live process that leads its own group (what the runner starts).
fn is_group_leader(pgid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pgid}/stat")) else {
        return false;
    };
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(2))
        .and_then(|g| g.parse::<u32>().ok())
        == Some(pgid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_with_the_holders_pid() {
        let dir = std::env::temp_dir().join(format!("sintfuzz-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = OutLock::acquire(&dir).unwrap();
        let Err(Fail::Usage(e)) = OutLock::acquire(&dir) else {
            panic!("a second lock was granted");
        };
        assert!(
            e.contains(&format!("pid {}", std::process::id())),
            "names the holder: {e}"
        );
        drop(first);
        assert!(OutLock::acquire(&dir).is_ok(), "free again once dropped");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_started_group_counts_as_a_leader_until_it_is_gone() {
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("30");
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().unwrap();
        let pgid = child.id();
        assert!(is_group_leader(pgid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_group_leader(pgid));
    }
}
