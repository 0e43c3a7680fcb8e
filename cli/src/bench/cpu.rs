//! CPU time, to say where the time of a phase went: per thread of this
//! process (`/proc/self/task/*/schedstat`, nanoseconds on a CPU), and for the
//! whole process including threads that have ended (`/proc/self/stat`,
//! `utime + stime` in clock ticks of 1/100 s, Linux's fixed `USER_HZ`).

use serde::{Deserialize, Serialize};

/// CPU time one thread has used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadCpu {
    /// The thread's name (`cairn-worker`, `cairn-gzip`, `cairn-http`, or the program's for the main thread).
    pub name: String,
    /// Seconds on a CPU since the thread started.
    pub cpu_s: f64,
}

/// Every live thread of this process and its CPU time so far.
pub fn threads() -> Vec<ThreadCpu> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut out: Vec<ThreadCpu> = tasks
        .filter_map(Result::ok)
        .filter_map(|t| {
            let name = std::fs::read_to_string(t.path().join("comm"))
                .ok()?
                .trim()
                .to_string();
            let ns: f64 = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(ThreadCpu {
                name,
                cpu_s: ns / 1e9,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Seconds of CPU this whole process has used, ended threads included (0 where /proc is missing).
pub fn process_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")" come state (field 3) ... utime is field 14 and stime 15 of the whole line.
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed().as_millis() < 30 {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(super::process_s() > 0.0);
        assert!(super::threads().iter().any(|t| t.cpu_s > 0.0));
    }
}
