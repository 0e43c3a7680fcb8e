//! This process's memory, as the kernel counts it: `VmHWM` (the peak
//! resident set since the process started) and `VmRSS` (now), from
//! `/proc/self/status`. The peak only grows, which is why every phase whose
//! memory is reported runs in a process of its own.

/// Peak resident set of this process so far, in KiB (0 where /proc is missing).
pub fn peak_kib() -> u64 {
    status_field("VmHWM:")
}

/// Resident set of this process now, in KiB (0 where /proc is missing).
pub fn current_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Size of the buffer file and its WAL and shared-memory files, in bytes.
pub fn buffer_file_bytes(db: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(std::path::PathBuf::from(p)).map_or(0, |m| m.len())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        if std::path::Path::new("/proc/self/status").exists() {
            // The kernel's counters are approximate per-CPU sums: compare loosely.
            let (now, peak) = (super::current_kib(), super::peak_kib());
            assert!(now > 0 && peak > 0 && peak >= now / 2, "{now} {peak}");
        }
    }
}
