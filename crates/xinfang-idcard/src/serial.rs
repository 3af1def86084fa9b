//! The reader's SAM over a (USB-)serial port: find card, select card, read base information.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits};

use crate::frame::{
    Command, MAX_FRAME, PREAMBLE, Response, Scan, check_status, decode_base_info, decode_response,
    encode_request, scan,
};
use crate::{CardRead, IdReader, ReadError};

/// Which port and how to talk to it. 8 data bits, no parity, 1 stop bit, as every SAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// `/dev/ttyUSB0`, `COM3` …
    pub port: String,
    /// 115200 unless the reader was set otherwise.
    pub baud_rate: u32,
    /// How long one command may take; reading the base information takes about a second.
    pub timeout: Duration,
}

impl SerialConfig {
    pub fn new(port: impl Into<String>) -> SerialConfig {
        SerialConfig {
            port: port.into(),
            baud_rate: 115_200,
            timeout: Duration::from_secs(3),
        }
    }
}

pub struct SerialReader {
    port: Box<dyn SerialPort>,
    timeout: Duration,
    buf: Vec<u8>,
}

impl SerialReader {
    pub fn open(config: &SerialConfig) -> Result<SerialReader, ReadError> {
        let port = serialport::new(&config.port, config.baud_rate)
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(config.timeout)
            .open()
            .map_err(|e| port_open_error(&config.port, &e))?;
        // Bytes left from an earlier session would be taken for the answer.
        port.clear(ClearBuffer::All)
            .map_err(|e| port_open_error(&config.port, &e))?;
        Ok(SerialReader {
            port,
            timeout: config.timeout,
            buf: Vec::new(),
        })
    }

    /// Sends one command and waits for its answer frame, within the timeout.
    fn transact(&mut self, cmd: Command) -> Result<Response, ReadError> {
        self.buf.clear();
        self.port
            .write_all(&encode_request(cmd, &[]))
            .and_then(|()| self.port.flush())
            .map_err(io_error)?;
        let deadline = Instant::now() + self.timeout;
        let mut skipped = 0;
        let mut chunk = [0u8; 1024];
        loop {
            match scan(&self.buf)? {
                Scan::Frame(range) => return decode_response(&self.buf[range]),
                Scan::Skip(n) => {
                    skipped += n;
                    self.buf.drain(..n);
                    if skipped > MAX_FRAME {
                        return Err(ReadError::Garbled);
                    }
                    continue;
                }
                Scan::NeedMore => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(skipped));
            }
            self.port
                .set_timeout(left)
                .map_err(|e| io_error(e.into()))?;
            match self.port.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Io("读卡器连接已断开".into())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(self.timed_out(skipped));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }

    /// Nothing came: the reader is silent. Part of a frame came: it was cut short. Only noise
    /// came: not a SAM, or the wrong baud rate.
    fn timed_out(&self, skipped: usize) -> ReadError {
        if self.buf.starts_with(&PREAMBLE) {
            ReadError::ShortFrame
        } else if skipped > 0 || !self.buf.is_empty() {
            ReadError::Garbled
        } else {
            ReadError::Timeout(self.timeout)
        }
    }

    fn step(&mut self, cmd: Command) -> Result<Vec<u8>, ReadError> {
        let response = self.transact(cmd)?;
        check_status(response.sw)?;
        Ok(response.data)
    }
}

impl IdReader for SerialReader {
    fn read(&mut self) -> Result<CardRead, ReadError> {
        self.step(Command::FIND_CARD)?;
        self.step(Command::SELECT_CARD)?;
        let data = self.step(Command::READ_BASE)?;
        decode_base_info(&data)
    }
}

fn io_error(e: io::Error) -> ReadError {
    ReadError::Io(match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof => "读卡器连接已断开".into(),
        _ => format!("系统报告“{e}”"),
    })
}

fn port_open_error(port: &str, e: &serialport::Error) -> ReadError {
    use serialport::ErrorKind;
    let reason = match e.kind {
        // serialport reports a port held by another program (EBUSY) as NoDevice too.
        ErrorKind::NoDevice => "设备不存在、已被拔出或正被其他程序占用".to_string(),
        ErrorKind::Io(io::ErrorKind::NotFound) => "没有这个端口".to_string(),
        ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            "没有访问权限（Linux 上请把当前用户加入 dialout 组后重新登录）".to_string()
        }
        ErrorKind::InvalidInput => format!("端口设置不被接受（{}）", e.description),
        _ => format!("系统报告“{}”", e.description),
    };
    ReadError::PortOpen {
        port: port.to_string(),
        reason,
    }
}
