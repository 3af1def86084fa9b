//! `xinfang idcard`: the simulated reader and a read of it, as two real processes talking over a
//! real pseudo-terminal. No data dir, no login.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::json_of;

/// A running `xinfang idcard simulate`, stopped (by its own pid) when dropped.
struct Simulated {
    child: Child,
    port: String,
}

impl Drop for Simulated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn simulate(args: &[&str]) -> Simulated {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("xinfang"))
        .args(["idcard", "simulate"])
        .args(args)
        .env_remove("XINFANG_DATA_DIR")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line ends with the port; the process then serves until killed.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    let sim = Simulated { child, port };
    assert!(sim.port.starts_with("/dev/"), "printed: {line:?}");
    sim
}

/// `xinfang idcard read` on the simulator's port, with `extra` flags.
fn read(sim: &Simulated, extra: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("xinfang"))
        .args(["idcard", "read", "--reader", "serial", "--port", &sim.port])
        .args(["--timeout", "3"])
        .args(extra)
        .env_remove("XINFANG_DATA_DIR")
        .output()
        .unwrap()
}

#[test]
fn reads_the_simulated_reader() {
    let sim = simulate(&[]);
    let out = read(&sim, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["name"], "李明华");
    assert_eq!(v["sex"], "男");
    assert_eq!(v["nation"], "汉");
    assert_eq!(v["birth_date"], "1985-03-15");
    assert_eq!(v["address"], "山西省晋城市沁水县龙港镇杏园东街12号");
    assert_eq!(v["id_number"], "140521198503150016");
    assert_eq!(v["issuing_authority"], "沁水县公安局");
    assert_eq!(v["valid_from"], "2015-06-01");
    assert_eq!(v["valid_to"], "2035-06-01");

    // The same reader again, for people.
    let out = read(&sim, &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("姓名：李明华"), "{text}");
    assert!(text.contains("公民身份号码：140521198503150016"), "{text}");
    assert!(
        text.contains("有效期限：2015-06-01 至 2035-06-01"),
        "{text}"
    );
}

#[test]
fn a_card_from_a_file_and_an_expired_one() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("card.json");
    std::fs::write(
        &file,
        r#"{"name": "王美娜", "sex": "2", "nation": "03", "birth": "19600911",
            "address": "北京市东城区景山前街4号", "id_number": "110101196009110025",
            "authority": "北京市公安局东城分局", "valid_from": "20060101", "valid_to": "20160101"}"#,
    )
    .unwrap();
    let sim = simulate(&["--card", file.to_str().unwrap()]);
    let out = read(&sim, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["name"], "王美娜");
    assert_eq!(v["nation"], "回");
    let warning = String::from_utf8(out.stderr).unwrap();
    assert!(warning.contains("已于 2016-01-01 过期"), "{warning}");
}

#[test]
fn no_card_and_card_removed_are_told_in_chinese() {
    for (flag, code, words) in [
        ("--no-card", "no_card", "没有身份证"),
        ("--removed-mid-read", "card_removed", "被移开"),
    ] {
        let sim = simulate(&[flag]);
        let out = read(&sim, &["--json"]);
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let v = json_of(&out);
        assert_eq!(v["errors"][0]["code"], code, "{v}");
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(words),
            "{v}"
        );
    }
}

#[test]
fn missing_port_and_a_port_that_does_not_exist() {
    let bin = || Command::new(assert_cmd::cargo::cargo_bin("xinfang"));
    let out = bin().args(["idcard", "read", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["code"], "port_missing");

    let out = bin()
        .args([
            "idcard",
            "read",
            "--port",
            "/dev/xinfang-no-such-port",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["errors"][0]["code"], "port_open");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("无法打开读卡器端口"),
        "{v}"
    );
}
