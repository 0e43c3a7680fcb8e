//! The `cairn` command: argument parsing and exit codes only; the work is in
//! the `cairn_cli` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cairn_cli::collector::{Collector, CollectorConfig};

/// cairn's developer tools: a local collector and a self-contained demo.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local Segment/RudderStack-compatible collector in the foreground.
    ///
    /// Listens on 127.0.0.1 only. Accepts `POST /v1/batch` (gzip or plain JSON,
    /// `{"batch": [...]}`), prints one line per event received, flags events
    /// that break Segment's spec with ⚠, and answers `GET /stats` with
    /// `{"requests", "events", "invalid"}`. Point a client at the printed
    /// endpoint; stop with Ctrl-C.
    Collect {
        /// Port on 127.0.0.1 to listen on (0 picks any free port).
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Also append every event received to FILE, one JSON object per line (NDJSON).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only accept batches whose Basic-auth user is KEY; others get 401.
        #[arg(long, value_name = "KEY")]
        write_key: Option<String>,
    },
    /// Run the quickstart: a real cairn client against a local collector.
    ///
    /// Needs no outside service and takes a few seconds. Records a short story
    /// (page, screen, track, identify, group, alias), flushes, takes the
    /// collector down to show retries and stats(), brings it back, and checks
    /// that every event arrived exactly once. Exits with 1 if the check fails.
    Demo,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Collect { port, out, write_key } => collect(CollectorConfig { port, write_key, out, print: true }),
        Command::Demo => match cairn_cli::demo::run() {
            Ok(report) if report.ok() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn collect(config: CollectorConfig) -> ExitCode {
    let out = config.out.clone();
    let key = config.write_key.clone();
    let collector = match Collector::start(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("cairn collector listening on {}", collector.endpoint());
    println!("  POST {}/v1/batch   GET {}/stats", collector.endpoint(), collector.endpoint());
    match &key {
        Some(k) => println!("  write key: only \"{k}\" is accepted"),
        None => println!("  write key: any"),
    }
    if let Some(path) = &out {
        println!("  appending events to {}", path.display());
    }
    println!("  Ctrl-C to stop");
    // Serve until the process is interrupted or killed; every event is
    // already written out when its request is answered.
    loop {
        std::thread::park();
    }
}
