//! Writing and validating a 5,000-position `tenderPlan2020` packet, against two references:
//!
//! * ours: `write_plan_packet` + `SchemaSet::validate`, schema compiled once at start;
//! * xmllint: `xmllint --noout --nonet --schema fcsIntegration.xsd file.xml`, a whole process
//!   (compiles the schema every time);
//! * floor: libxml2's own parse + validate with the schema already compiled, timed with Python
//!   lxml (`schema.validate(etree.parse(file))`).
//!
//! `cargo bench -p eis --bench validate`. Without `--bench` (e.g. `cargo test --all-targets`)
//! it only runs a small smoke check. `BENCH_RUNS` (default 21) sets the runs per median;
//! `BENCH_POSITIONS` (default 5000) the plan size.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::DateTime;
use eis::packet::*;
use eis::schemas;
use eis::validate::{Root, SchemaSet, join_lines};
use rust_decimal::Decimal;

const ORG_REG_NUM: &str = "03722001684";
const IKU: &str = "27802139698780201001";
const OKPD2: [&str; 6] =
    ["38.11.21.000", "17.12.14.110", "22.29.25.000", "26.20.11.110", "86.90.19.190", "43.21.10.140"];
const OBJECTS: [&str; 5] = [
    "Услуги по обращению с ТКО <сбор & вывоз>",
    "Канцелярские товары",
    "Поставка компьютерной техники для нужд учреждения",
    "Выполнение работ по текущему ремонту помещений здания, включая электромонтажные работы и замену оконных блоков",
    "Оказание услуг по техническому обслуживанию и ремонту медицинского оборудования",
];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let Some(dir) = schemas::locate() else {
        eprintln!(
            "SKIPPED: validate benchmark: ЕИС schemas not found (set {} to the 14_1 directory)",
            schemas::ENV_VAR
        );
        return;
    };
    let positions = if full { env_usize("BENCH_POSITIONS", 5000) } else { 50 };
    let runs = if full { env_usize("BENCH_RUNS", 21).max(1) } else { 1 };

    let started = Instant::now();
    let set = match SchemaSet::compile(&dir, Root::Integration) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("validate benchmark: {e}");
            std::process::exit(1);
        }
    };
    let compile = started.elapsed();

    let packet = plan(positions);
    let xml = write_plan_packet(&packet);
    if let Err(issues) = set.validate(&xml) {
        eprintln!("validate benchmark: the generated packet is invalid:\n{}", join_lines(&issues));
        std::process::exit(1);
    }
    if !full {
        println!("validate benchmark: smoke run ok ({positions} positions); run `cargo bench -p eis --bench validate`");
        return;
    }

    let pretty = write_plan_packet_with(&packet, eis::Layout::Pretty);
    println!(
        "packet: tenderPlan2020, {positions} positions, {:.2} MB compact as sent ({:.2} MB, {} lines indented)",
        mb(xml.len()),
        mb(pretty.len()),
        pretty.lines().count()
    );
    drop(pretty);
    println!("runs per median: {runs}; cores: {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    println!("schema compile (fcsIntegration.xsd, once): {}", ms(compile));

    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("validate benchmark: temp dir: {e}");
            std::process::exit(1);
        }
    };
    let file = tmp.path().join("tenderPlan2020-bench.xml");
    if let Err(e) = std::fs::write(&file, &xml) {
        eprintln!("validate benchmark: {}: {e}", file.display());
        std::process::exit(1);
    }
    let xsd = dir.join(schemas::INTEGRATION_XSD);

    // (a) ours and (c) the floor, interleaved run by run so that both see the same load.
    let mut lxml = Lxml::start(&xsd, &file);
    if let Err(why) = &lxml {
        println!("floor lxml parse+validate: unavailable ({why}; `pip install lxml`)");
    }
    let (mut write, mut check, mut total, mut floor) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs + 2 {
        let t0 = Instant::now();
        let xml = write_plan_packet(&packet);
        let t1 = Instant::now();
        let ok = set.validate(&xml).is_ok();
        let t2 = Instant::now();
        drop(xml);
        assert!(ok, "the packet validated before");
        let lxml_time = match &mut lxml {
            Ok(l) => match l.run() {
                Ok(t) => Some(t),
                Err(why) => {
                    println!("floor lxml parse+validate: failed ({why})");
                    lxml = Err(why);
                    None
                }
            },
            Err(_) => None,
        };
        if run >= 2 {
            // The first two runs warm caches and the allocator.
            write.push(t1 - t0);
            check.push(t2 - t1);
            total.push(t2 - t0);
            floor.extend(lxml_time);
        }
    }
    let ours = median(&mut total);
    println!(
        "ours  write+validate: median {} (min {})  [write {}, parse+validate {} (min {})]",
        ms(ours),
        ms(total[0]),
        ms(median(&mut write)),
        ms(median(&mut check)),
        ms(check[0]),
    );
    let floor = match (&lxml, floor.is_empty()) {
        (Ok(l), false) => {
            let m = median(&mut floor);
            println!(
                "floor lxml parse+validate: median {} (min {})  [lxml's schema compile {}, libxml2 {}]",
                ms(m),
                ms(floor[0]),
                ms(l.compile),
                l.libxml2
            );
            Some(m)
        }
        _ => None,
    };

    // (b) xmllint as a whole process.
    let xmllint_runs = runs.min(7);
    let xmllint = xmllint_median(&xsd, &file, xmllint_runs);
    match xmllint {
        Some(t) => println!("xmllint whole process: median {} of {xmllint_runs}", ms(t)),
        None => println!("xmllint whole process: unavailable (install libxml2-utils)"),
    }
    if let Some(breakdown) = xmllint_timing(&xsd, &file) {
        println!("xmllint --timing (one run): {breakdown}");
    }

    if let Some(floor) = floor {
        println!(
            "ratio ours/floor: {:.2}  (parse+validate alone: {:.2}; goal <= 1.30)",
            ours.as_secs_f64() / floor.as_secs_f64(),
            median(&mut check).as_secs_f64() / floor.as_secs_f64()
        );
    }
    if let Some(xmllint) = xmllint {
        println!("ratio ours/xmllint: {:.3}", ours.as_secs_f64() / xmllint.as_secs_f64());
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn xmllint_median(xsd: &Path, file: &Path, runs: usize) -> Option<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let status = Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(xsd)
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        let t = t0.elapsed();
        if !status.success() {
            eprintln!("xmllint rejected the packet");
            return None;
        }
        times.push(t);
    }
    Some(median(&mut times))
}

/// xmllint's own split of one run (compile / parse / validate), from `--timing`.
fn xmllint_timing(xsd: &Path, file: &Path) -> Option<String> {
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--timing", "--schema"])
        .arg(xsd)
        .arg(file)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let parts: Vec<&str> = text.lines().filter(|l| l.contains(" took ")).map(str::trim).collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Python lxml with the schema compiled once, timing one `schema.validate(etree.parse(file))`
/// per line it reads.
struct Lxml {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    compile: Duration,
    libxml2: String,
}

const LXML_SCRIPT: &str = r#"
import sys, time
from lxml import etree
xsd, doc = sys.argv[1], sys.argv[2]
t = time.perf_counter()
schema = etree.XMLSchema(etree.parse(xsd))
compile_s = time.perf_counter() - t
print("ready %.9f %s" % (compile_s, ".".join(map(str, etree.LIBXML_VERSION))), flush=True)
for _ in sys.stdin:
    t = time.perf_counter()
    ok = schema.validate(etree.parse(doc))
    took = time.perf_counter() - t
    if not ok:
        print("invalid: %s" % schema.error_log.last_error, flush=True)
        break
    print("%.9f" % took, flush=True)
"#;

impl Lxml {
    fn start(xsd: &Path, file: &Path) -> Result<Lxml, String> {
        let mut child = Command::new("python3")
            .args(["-c", LXML_SCRIPT])
            .arg(xsd)
            .arg(file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("python3: no pipes".into());
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let mut words = line.split_whitespace();
        let ready = (words.next(), words.next().and_then(|s| s.parse::<f64>().ok()), words.next());
        let (Some("ready"), Some(compile), Some(libxml2)) = ready else {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            return Err(err.lines().last().unwrap_or("python3 failed").to_owned());
        };
        let libxml2 = libxml2.to_owned();
        Ok(Lxml { child, stdin, stdout, compile: Duration::from_secs_f64(compile), libxml2 })
    }

    fn run(&mut self) -> Result<Duration, String> {
        writeln!(self.stdin, "go").and_then(|()| self.stdin.flush()).map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        line.trim().parse::<f64>().map(Duration::from_secs_f64).map_err(|_| format!("lxml: {}", line.trim()))
    }
}

impl Drop for Lxml {
    fn drop(&mut self) {
        // The script holds nothing worth a clean exit.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dec(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

fn years(n: i64, current: bool) -> YearAmounts {
    // Kopecks: 1,000.00 and up.
    let base = 100_000 + (n * 7_919) % 99_000_000;
    if current {
        YearAmounts { current_year: dec(base, 2), ..YearAmounts::default() }
    } else {
        YearAmounts {
            first_year: dec(base, 2),
            second_year: dec(base * 2, 2),
            subsec_years: dec(n % 3 * 1000, 0),
            ..YearAmounts::default()
        }
    }
}

/// A plan of `n` varied positions: single and several OKPD2 codes, with and without KVR,
/// KBK breakdowns of 1–3 lines, object names of different lengths and amounts.
fn plan(n: usize) -> PlanPacket {
    let positions = (0..n)
        .map(|i| {
            let k = i as i64;
            let number = format!("{:04}", (i % 9999) + 1);
            let okpd2 = if i % 3 == 0 {
                Okpd2::Undefined((0..1 + i % 3).map(|j| OKPD2[(i + j) % OKPD2.len()].to_owned()).collect())
            } else {
                Okpd2::Single(OKPD2[i % OKPD2.len()].to_owned())
            };
            let kvr = (i % 4 != 0).then(|| ["244", "243", "247"][i % 3].to_owned());
            let okpd4: String = match &okpd2 {
                Okpd2::Single(c) => c.chars().filter(char::is_ascii_digit).take(4).collect(),
                Okpd2::Undefined(_) => "0000".into(),
            };
            let publish_year = 2025 + (i % 3) as i32;
            let ikz = format!("{:02}{IKU}{number}000{okpd4}{}", publish_year % 100, kvr.as_deref().unwrap_or("000"));
            let current = publish_year == 2025;
            let finance = years(k, current);
            let kbks = if kvr.is_none() {
                (0..1 + i % 3)
                    .map(|j| KbkAmounts {
                        kbk: format!("807070201100001902{:02}", (i + j) % 100),
                        years: years(k + j as i64, current),
                    })
                    .collect()
            } else {
                vec![]
            };
            let kvrs = kvr.iter().map(|c| KvrAmounts { kvr: c.clone(), years: finance.clone() }).collect();
            Position {
                position_number: None,
                ext_number: format!("RIS-POS-{i:05}"),
                ikz,
                publish_year,
                iku: (i % 2 == 0).then(|| IKU.to_owned()),
                purchase_number: number,
                okpd2,
                kvr,
                purchase_object_info: format!("{} №{}", OBJECTS[i % OBJECTS.len()], i + 1),
                public_discussion: (i % 5 == 0).then_some(i % 10 == 0),
                finance,
                kbks,
                kvrs,
                is_energy_service_contract: i % 7 == 0,
                modification: None,
                modification_status: None,
                ..Position::default()
            }
        })
        .collect();
    let create_date_time = DateTime::parse_from_rfc3339("2025-01-15T10:00:00+03:00").unwrap_or_default();
    PlanPacket {
        kind: PlanPacketKind::New,
        index: PacketIndex {
            id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(),
            sender: "PLANGRAF".into(),
            receiver: "OOS".into(),
            create_date_time,
            object_type: OBJECT_TYPE_TP2020.into(),
            mode: Mode::Test,
        },
        data: PlanData {
            external_id: "RIS-PG-2025-BENCH".into(),
            plan_number: None,
            version_number: Some(0),
            plan_year: 2025,
            first_year: 2026,
            second_year: 2027,
            customer_reg_num: ORG_REG_NUM.into(),
            owner_reg_num: ORG_REG_NUM.into(),
            owner_role: OwnerRole::Cu,
            positions,
            ..PlanData::default()
        },
    }
}
