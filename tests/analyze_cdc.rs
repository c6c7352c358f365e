//! Issue 11 (B): `dgen analyze` measures dedup with FastCDC (2020) at 4, 8 and 16 KiB average
//! chunks, beside the fixed-block units.

mod dgen_cli;
use dgen_cli::dgen;

fn analyze_json(path: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "analyze", path, "--units", "4k,128k", "--codecs", "lz4", "--json",
    ];
    args.extend_from_slice(extra);
    let o = dgen(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn fastcdc_columns_measure_content_defined_dedup() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d2.bin");
    let p = f.to_str().unwrap();
    let o = dgen(&[
        "gen", "--size", "64M", "--dedup", "2", "--seed", "3", "-o", p,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = analyze_json(p, &[]);
    let cdc = r["cdc"].as_array().unwrap();
    let avgs: Vec<u64> = cdc.iter().map(|c| c["avg"].as_u64().unwrap()).collect();
    assert_eq!(avgs, [4096, 8192, 16384]);
    for c in cdc {
        let avg = c["avg"].as_u64().unwrap();
        assert_eq!(c["algorithm"], "fastcdc-2020");
        assert_eq!(
            (c["min"].as_u64(), c["max"].as_u64()),
            (Some(avg / 4), Some(avg * 4))
        );
        assert_eq!(c["bytes"].as_u64(), Some(64 << 20));
        // Chunks that straddle a copy's two ends are lost, more of them the larger the chunks;
        // copies are stretches of up to 4 MiB, shorter in the first MiBs (README: 1.959, 1.924,
        // 1.851 at 4, 8, 16 KiB over 64 MiB; lone 128 KiB copies gave 1.89, 1.79, 1.62 over a GiB).
        let d = c["dedup_ratio"].as_f64().unwrap();
        assert!((1.75..=2.0).contains(&d), "avg {avg}: {d}");
        let mean = c["mean_chunk"].as_f64().unwrap();
        assert!(mean > avg as f64 * 0.5 && mean < avg as f64 * 2.0, "{mean}");
    }
    let ratios: Vec<f64> = cdc
        .iter()
        .map(|c| c["dedup_ratio"].as_f64().unwrap())
        .collect();
    assert!(ratios[0] > ratios[1] && ratios[1] > ratios[2], "{ratios:?}");
    assert!(ratios[0] > 1.9, "{ratios:?}");
    assert!((r["units"][1]["dedup_ratio"].as_f64().unwrap() - 2.0).abs() < 0.01);
    // Every codec's compression speed is reported (one core, MB/s), and the table shows it.
    for u in r["units"].as_array().unwrap() {
        for c in u["compression"].as_array().unwrap() {
            let speed = c["speed_mbps"].as_f64().unwrap();
            assert!(speed > 10.0 && speed < 1e6, "{c}");
        }
    }

    // The table shows the FastCDC rows; --cdc picks the sizes; --no-cdc skips them.
    let o = dgen(&[
        "analyze", p, "--units", "4k", "--codecs", "lz4", "--cdc", "32k",
    ]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("FastCDC 2020") && t.contains("32KiB"), "{t}");
    assert!(t.contains("compression speed (MB/s on one core"), "{t}");
    assert!(analyze_json(p, &["--no-cdc"])["cdc"]
        .as_array()
        .unwrap()
        .is_empty());
    let o = dgen(&["analyze", p, "--cdc", "3000"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cdc") && err.contains("3000"), "{err}");
}
