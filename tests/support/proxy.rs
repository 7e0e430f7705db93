//! A TCP proxy between the server and PostgreSQL that a test can cut and
//! restore, to prove an outage degrades cleanly and recovers (after
//! crates.io's chaos proxy).

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct Proxy {
    pub address: SocketAddr,
    cut: watch::Sender<bool>,
}

impl Proxy {
    pub async fn to(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().unwrap();
        let (cut, watching) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *watching.borrow() {
                    continue; // refused: dropped at once
                }
                let (upstream, mut cut) = (upstream.clone(), watching.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { address, cut }
    }

    /// Drops every open connection and refuses new ones, as a network partition would.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}
