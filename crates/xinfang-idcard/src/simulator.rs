//! A simulated reader: a pseudo-terminal whose other end answers the SAM's frames, so the
//! real serial path (port, termios, framing, timeouts) is what tests and the demo use.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rustix::fs::{Mode, OFlags};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};

use crate::CardText;
use crate::ReadError;
use crate::frame::{
    Command, SW_BAD_CHECKSUM, SW_BAD_COMMAND, SW_BAD_LENGTH, SW_FOUND, SW_NO_CARD, SW_OK,
    SW_READ_FAILED, SW_SELECT_FAILED, Scan, decode_request, encode_base_info, encode_response,
    scan,
};

/// What the simulated card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// A card lies on the reader and reads well.
    #[default]
    Card,
    /// The reader is empty.
    NoCard,
    /// The card is found and selected, then taken away while its information is read.
    RemovedMidRead,
}

/// The answer a SAM gives to one request frame.
pub fn answer(frame: &[u8], base_info: &[u8], behaviour: Behaviour) -> Vec<u8> {
    let request = match decode_request(frame) {
        Ok(r) => r,
        Err(ReadError::Checksum { .. }) => return encode_response(SW_BAD_CHECKSUM, &[]),
        Err(_) => return encode_response(SW_BAD_LENGTH, &[]),
    };
    let card = behaviour != Behaviour::NoCard;
    match request.cmd {
        Command::FIND_CARD if card => encode_response(SW_FOUND, &[0; 4]),
        Command::FIND_CARD => encode_response(SW_NO_CARD, &[]),
        // The answer to a select carries the card's serial number; zeros will do.
        Command::SELECT_CARD if card => encode_response(SW_OK, &[0; 8]),
        Command::SELECT_CARD => encode_response(SW_SELECT_FAILED, &[]),
        Command::READ_BASE if behaviour == Behaviour::Card => encode_response(SW_OK, base_info),
        Command::READ_BASE => encode_response(SW_READ_FAILED, &[]),
        // SAM status check.
        Command(0x11, 0xFF) => encode_response(SW_OK, &[]),
        _ => encode_response(SW_BAD_COMMAND, &[]),
    }
}

/// A simulated reader serving on its own thread until dropped.
pub struct Simulator {
    path: PathBuf,
    /// Our own handle on the port: keeps the terminal alive between clients (the master side
    /// reads EIO once every port handle is closed) and wakes the thread on drop.
    port: File,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Simulator {
    /// Opens a pseudo-terminal and serves `card` on it. A card that does not fit the chip's
    /// fields is refused with a Chinese message.
    pub fn start(card: &CardText, behaviour: Behaviour) -> Result<Simulator, String> {
        let base_info = encode_base_info(card, 1024)?;
        Self::open_pty(base_info, behaviour)
            .map_err(|e| format!("无法创建模拟读卡器的虚拟串口：{e}"))
    }

    fn open_pty(base_info: Vec<u8>, behaviour: Behaviour) -> io::Result<Simulator> {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let path = PathBuf::from(
            ptsname(&master, Vec::new())?
                .into_string()
                .map_err(|_| io::Error::other("pty name is not UTF-8"))?,
        );
        let port: OwnedFd = rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // Raw from the start, or the line discipline would echo requests back as answers.
        let mut termios = tcgetattr(&port)?;
        termios.make_raw();
        tcsetattr(&port, OptionalActions::Now, &termios)?;

        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            let master = File::from(master);
            std::thread::Builder::new()
                .name("idcard-simulator".into())
                .spawn(move || serve(master, &base_info, behaviour, &stop))?
        };
        Ok(Simulator {
            path,
            port: File::from(port),
            stop,
            thread: Some(thread),
        })
    }

    /// The port to open, e.g. `/dev/pts/3`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until the pseudo-terminal fails; for `xinfang idcard simulate`.
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("simulator panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // What is written on the port side arrives at the master: it wakes the blocked read.
        if self.port.write_all(&[0]).is_ok()
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
    }
}

fn serve(
    mut master: File,
    base_info: &[u8],
    behaviour: Behaviour,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = master.read(&mut chunk)?;
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match scan(&buf) {
                Ok(Scan::NeedMore) => break,
                Ok(Scan::Skip(n)) => {
                    buf.drain(..n);
                }
                Ok(Scan::Frame(range)) => {
                    let frame: Vec<u8> = buf.drain(range).collect();
                    master.write_all(&answer(&frame, base_info, behaviour))?;
                }
                // A length no request has: drop what came, as a SAM does.
                Err(_) => {
                    buf.clear();
                    master.write_all(&encode_response(SW_BAD_LENGTH, &[]))?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{check_status, decode_response, encode_request};

    fn status(frame: &[u8]) -> Result<(), ReadError> {
        check_status(decode_response(frame).unwrap().sw)
    }

    #[test]
    fn answers_as_a_sam() {
        let info = encode_base_info(&crate::test_person(), 1024).unwrap();
        let find = encode_request(Command::FIND_CARD, &[]);
        let select = encode_request(Command::SELECT_CARD, &[]);
        let read = encode_request(Command::READ_BASE, &[]);
        let cases = [
            (Behaviour::Card, &find, Ok(())),
            (Behaviour::Card, &select, Ok(())),
            (Behaviour::Card, &read, Ok(())),
            (Behaviour::NoCard, &find, Err(ReadError::NoCard)),
            (Behaviour::NoCard, &select, Err(ReadError::SelectFailed)),
            (Behaviour::RemovedMidRead, &find, Ok(())),
            (Behaviour::RemovedMidRead, &select, Ok(())),
            (
                Behaviour::RemovedMidRead,
                &read,
                Err(ReadError::CardRemoved),
            ),
        ];
        for (behaviour, request, want) in cases {
            assert_eq!(
                status(&answer(request, &info, behaviour)),
                want,
                "{behaviour:?} {request:02X?}"
            );
        }
        let full = answer(&read, &info, Behaviour::Card);
        assert_eq!(decode_response(&full).unwrap().data, info);

        let mut spoiled = find.clone();
        *spoiled.last_mut().unwrap() ^= 1;
        assert_eq!(
            decode_response(&answer(&spoiled, &info, Behaviour::Card))
                .unwrap()
                .sw,
            SW_BAD_CHECKSUM
        );
        let unknown = encode_request(Command(0x99, 0x01), &[]);
        assert_eq!(
            decode_response(&answer(&unknown, &info, Behaviour::Card))
                .unwrap()
                .sw,
            SW_BAD_COMMAND
        );
    }
}
