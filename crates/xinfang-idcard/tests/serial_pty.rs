//! The serial reader against the simulated SAM: real frames over a real pseudo-terminal.
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::time::Duration;

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use xinfang_idcard::frame::{SW_OK, encode_base_info, encode_response};
use xinfang_idcard::{
    Behaviour, CardText, IdReader, ReadError, SerialConfig, SerialReader, Simulator, ValidTo,
    test_person,
};

fn config(path: &str) -> SerialConfig {
    SerialConfig {
        timeout: Duration::from_millis(500),
        ..SerialConfig::new(path)
    }
}

fn read_from(sim: &Simulator) -> Result<xinfang_idcard::CardRead, ReadError> {
    SerialReader::open(&config(sim.path().to_str().unwrap()))?.read()
}

#[test]
fn reads_the_simulated_card_end_to_end() {
    let sim = Simulator::start(&test_person(), Behaviour::Card).unwrap();
    let mut reader = SerialReader::open(&config(sim.path().to_str().unwrap())).unwrap();
    let card = reader.read().unwrap();
    assert_eq!(card, test_person().interpret().unwrap());
    assert_eq!(card.name, "李明华");
    assert_eq!(card.sex, "男");
    assert_eq!(card.nation, "汉");
    assert_eq!(card.id_number, "140521198503150016");
    // Twice on one open port, then again after closing and reopening it.
    assert_eq!(reader.read().unwrap(), card);
    drop(reader);
    assert_eq!(read_from(&sim).unwrap(), card);
}

#[test]
fn a_long_term_card() {
    let person = CardText {
        name: "欧阳秀英".into(),
        sex: "2".into(),
        birth: "19580101".into(),
        id_number: "140521195801010026".into(),
        valid_to: "长期".into(),
        ..test_person()
    };
    let sim = Simulator::start(&person, Behaviour::Card).unwrap();
    let card = read_from(&sim).unwrap();
    assert_eq!(card.sex, "女");
    assert_eq!(card.valid_to, ValidTo::LongTerm);
}

#[test]
fn no_card_and_card_removed() {
    let empty = Simulator::start(&test_person(), Behaviour::NoCard).unwrap();
    assert_eq!(read_from(&empty), Err(ReadError::NoCard));
    let moved = Simulator::start(&test_person(), Behaviour::RemovedMidRead).unwrap();
    assert_eq!(read_from(&moved), Err(ReadError::CardRemoved));
}

#[test]
fn a_card_too_big_for_the_chip_is_refused() {
    let person = CardText {
        address: "很长的地址".repeat(8),
        ..test_person()
    };
    let e = Simulator::start(&person, Behaviour::Card).err().unwrap();
    assert!(e.contains("住址"), "{e}");
}

#[test]
fn a_port_that_does_not_exist() {
    match SerialReader::open(&config("/dev/xinfang-no-such-port")) {
        Err(e @ ReadError::PortOpen { .. }) => {
            assert!(e.to_string().contains("没有这个端口"), "{e}");
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("opened a port that does not exist"),
    }
}

/// What a faulty "reader" sends back for each request.
type Reply = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// A hand-driven pseudo-terminal answering each request with `reply`.
fn faulty_reader(reply: Reply) -> String {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let path = ptsname(&master, Vec::new()).unwrap().into_string().unwrap();
    let mut master = File::from(master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        // Ends when the test's port closes (EIO on the master).
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 || master.write_all(&reply(&buf[..n])).is_err() {
                break;
            }
        }
    });
    path
}

#[test]
fn silence_noise_cut_frames_and_bad_checksums() {
    let good = encode_response(SW_OK, &encode_base_info(&test_person(), 0).unwrap());
    let cases: Vec<(Reply, ReadError)> = vec![
        (
            Box::new(|_| Vec::new()),
            ReadError::Timeout(Duration::from_millis(500)),
        ),
        (
            Box::new(|_| b"\x00\x13garbage\xff".to_vec()),
            ReadError::Garbled,
        ),
        (
            Box::new({
                let good = good.clone();
                move |_| good[..40].to_vec()
            }),
            ReadError::ShortFrame,
        ),
        (
            Box::new({
                let good = good.clone();
                move |_| {
                    let mut bad = good.clone();
                    *bad.last_mut().unwrap() ^= 0x01;
                    bad
                }
            }),
            ReadError::Checksum {
                expected: *good.last().unwrap(),
                found: good.last().unwrap() ^ 0x01,
            },
        ),
    ];
    for (reply, want) in cases {
        let path = faulty_reader(reply);
        let got = SerialReader::open(&config(&path)).unwrap().read();
        assert_eq!(got, Err(want.clone()), "{want:?}");
        assert!(!want.to_string().is_empty());
    }
}
