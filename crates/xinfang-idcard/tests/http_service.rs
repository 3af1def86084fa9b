//! The HTTP reader against a stand-in for a vendor's local service: a real HTTP exchange over
//! loopback (no vendor service can be installed here).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use xinfang_idcard::{HttpConfig, HttpReader, IdReader, ReadError, test_person};

/// Serves `body` with `status` to one request; returns the service's URL.
fn service(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/readcard", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        answer(stream, status, &body);
    });
    url
}

fn answer(mut stream: TcpStream, status: &str, body: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    // The request's head ends with an empty line; a GET has no body.
    while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
        line.clear();
    }
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
}

fn reader(url: &str) -> HttpReader {
    HttpReader::new(HttpConfig {
        timeout: Duration::from_secs(5),
        ..HttpConfig::new(url)
    })
    .unwrap()
}

#[test]
fn reads_a_card_from_the_service() {
    let id = test_person().id_number;
    let body = format!(
        r#"{{"resultFlag":0,"partyName":"李明华","gender":"男","nation":"汉","bornDay":"1985-03-15",
            "certAddress":"山西省晋城市沁水县龙港镇杏园东街12号","certNumber":"{id}",
            "certOrg":"沁水县公安局","effDate":"2015.06.01","expDate":"2035.06.01"}}"#
    );
    let card = reader(&service("200 OK", body)).read().unwrap();
    assert_eq!(card, test_person().interpret().unwrap());
}

#[test]
fn service_failures() {
    let e = reader(&service(
        "200 OK",
        r#"{"resultFlag":-1,"errMsg":"未放卡"}"#.into(),
    ))
    .read()
    .unwrap_err();
    assert_eq!(e, ReadError::ServiceAnswer("读卡服务报告“未放卡”".into()));

    let e = reader(&service("500 Internal Server Error", "{}".into()))
        .read()
        .unwrap_err();
    assert_eq!(e, ReadError::ServiceAnswer("HTTP 状态 500".into()));

    let e = reader(&service("200 OK", "<html>".into()))
        .read()
        .unwrap_err();
    assert_eq!(e.code(), "service_answer");

    // A port nobody listens on: the listener is closed before the read.
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let e = reader(&url).read().unwrap_err();
    assert_eq!(e, ReadError::ServiceUnreachable { url: url.clone() });
    assert!(e.to_string().contains("读卡服务"), "{e}");

    assert!(matches!(
        HttpReader::new(HttpConfig::new("127.0.0.1:19196")),
        Err(ReadError::BadUrl(_))
    ));
}
