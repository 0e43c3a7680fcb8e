//! The `cairn` command: argument parsing and exit codes only; the work is in
//! the `cairn_cli` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cairn_cli::collector::{Collector, CollectorConfig};

/// cairn's developer tools: a local collector, a buffer inspector, a sender and a self-contained demo.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local collector for Segment/RudderStack, Amplitude and PostHog in the foreground.
    ///
    /// Listens on 127.0.0.1 only. Accepts `POST /v1/batch` (Segment and
    /// RudderStack, `{"batch": [...]}`), `POST /2/httpapi` and `POST /batch`
    /// (Amplitude, `{"api_key", "events": [...]}`) and `POST /batch/`
    /// (PostHog, `{"api_key", "batch": [...]}`), gzip or plain JSON; prints
    /// one line per event received (Amplitude and PostHog events read back as
    /// Segment events, with `→ amplitude` / `→ posthog`), flags events
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
        /// Only accept batches whose key is KEY (Segment: the Basic-auth user;
        /// Amplitude, PostHog: `api_key` in the body); others get 401.
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
    /// Show what a buffer file holds: queue, drops by reason, identity,
    /// consent, session, delivery condition and file health.
    ///
    /// Opens the file read-only: safe on a file a killed app left behind, and
    /// next to a running app.
    Inspect {
        /// The buffer file (the client's storage_path), e.g. app-data/cairn.db.
        path: PathBuf,
        /// Also list the first N queued events.
        #[arg(long, value_name = "N", default_value_t = 0)]
        events: usize,
        /// Print JSON instead of text, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Send NDJSON events through the SDK (backfills, scripts).
    ///
    /// Each line is one complete Segment-spec event ({"type": "track",
    /// "event": ..., "userId": ..., "timestamp": ..., "messageId": ...});
    /// its ids, timestamp and messageId are kept. A line without a messageId
    /// gets a stable one: the UUID v5 of "PATH\nLINE\nTEXT" (the input's
    /// absolute path, or "-" for standard input; the 1-based line number,
    /// blank lines counted; the line without its line ending) in the
    /// namespace uuid5(NAMESPACE_URL, "cairn:send"). So a file sent twice
    /// carries the same ids and the backend drops the copies.
    ///
    /// With --storage FILE, FILE.send-progress notes how far the input went
    /// (after each commit of the buffer): running the same command again
    /// after an interruption (Ctrl-C, kill, --timeout) skips the lines
    /// already taken and sends the rest once, and after a complete run it
    /// sends only lines appended since. Without --storage the buffer is a
    /// temporary file: events not delivered by the end are lost.
    ///
    /// When events do not go out, says why (the server's answer, or the
    /// connection error), as `cairn inspect` does. Retries, backoff and
    /// drops are the SDK's. Exits 0 when every event was delivered, 1
    /// otherwise, 2 when the send could not run.
    Send {
        /// Backend base URL; events go to {endpoint}/v1/batch (Segment),
        /// {endpoint}/2/httpapi or /batch (Amplitude), {endpoint}/batch/ (PostHog).
        #[arg(long)]
        endpoint: String,
        /// The source's write key (Segment), or the project's API key
        /// (Amplitude, PostHog).
        #[arg(long)]
        write_key: String,
        /// The backend's format: segment (also RudderStack), amplitude,
        /// amplitude-batch or posthog (docs/destinations.md).
        #[arg(long, default_value = "segment", value_parser = cairn_cli::send::parse_destination)]
        destination: cairn::DestinationKind,
        /// Also deliver every event to this destination, from the same buffer
        /// and on its own (repeat for more): [NAME=]KIND,ENDPOINT,KEY, e.g.
        /// amplitude,https://api2.amplitude.com,API_KEY (docs/destinations.md).
        #[arg(long = "also-to", value_name = "[NAME=]KIND,ENDPOINT,KEY", value_parser = cairn_cli::send::parse_also_to)]
        also_to: Vec<cairn::Destination>,
        /// Keep the buffer in this file (default: a temporary file, lost at the
        /// end), so an interrupted send resumes when run again with the same file.
        #[arg(long, value_name = "FILE")]
        storage: Option<PathBuf>,
        /// Seconds to wait for delivery at the end; also how long reading
        /// waits for a nearly full buffer to drain before it stops (the
        /// lines read are kept: run again to go on).
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Most events the buffer holds. Reading waits for the backend when
        /// the buffer is nine tenths full, so nothing is dropped for room.
        #[arg(long, default_value_t = cairn::config::DEFAULT_MAX_QUEUE_EVENTS)]
        max_queue_events: u64,
        /// NDJSON file to send; `-` or nothing reads standard input.
        input: Option<PathBuf>,
    },
    /// Benchmark cairn end to end against this machine's limits (docs/performance.md).
    Bench(cairn_cli::bench::BenchArgs),
    /// Tracking plans: check one, import one from Segment or RudderStack, generate typed calls (docs/tracking-plans.md).
    #[command(subcommand)]
    Plan(cairn_cli::plan::PlanCommand),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Collect {
            port,
            out,
            write_key,
        } => collect(CollectorConfig {
            port,
            write_key,
            out,
            print: true,
            ..Default::default()
        }),
        Command::Demo => match cairn_cli::demo::run() {
            Ok(report) if report.ok() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Inspect { path, events, json } => inspect(&path, events, json),
        Command::Bench(args) => cairn_cli::bench::main(args),
        Command::Plan(command) => cairn_cli::plan::main(command),
        Command::Send {
            endpoint,
            write_key,
            destination,
            also_to,
            storage,
            timeout,
            max_queue_events,
            input,
        } => send(
            cairn_cli::send::SendOptions {
                endpoint,
                write_key,
                destination,
                also_to,
                storage,
                timeout: std::time::Duration::from_secs(timeout),
                max_queue_events,
            },
            input,
        ),
    }
}

fn inspect(path: &std::path::Path, events: usize, json: bool) -> ExitCode {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    match cairn_cli::inspect::run(path, events, json, now) {
        Ok(report) => {
            print!("{report}");
            if json {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn send(options: cairn_cli::send::SendOptions, input: Option<PathBuf>) -> ExitCode {
    use cairn_cli::send::line_id::Source;
    let result = match input.filter(|p| p.as_os_str() != "-") {
        Some(path) => match std::fs::File::open(&path)
            .and_then(|f| Source::file(&path).map(|source| (f, source)))
        {
            Ok((f, source)) => cairn_cli::send::run(&options, &source, f),
            Err(e) => {
                eprintln!("error: cannot open {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => cairn_cli::send::run(&options, &Source::Stdin, std::io::stdin()),
    };
    match result {
        Ok(summary) => {
            println!("{}", summary.render());
            if summary.all_delivered() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
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
    println!(
        "  POST {e}/v1/batch   GET {e}/stats\n  Amplitude: POST {e}/2/httpapi, {e}/batch   PostHog: POST {e}/batch/",
        e = collector.endpoint()
    );
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
