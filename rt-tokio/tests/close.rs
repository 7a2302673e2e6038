//! tokio-only close behaviour: dropping the write half of `into_split`
//! sends a FIN while the read half reads on. (Half-close, drops and
//! delivery after the last handle is gone are cases of the adapter suite.)

mod common;

use common::{pair, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn dropping_the_write_half_sends_a_fin_and_the_read_half_reads_on() {
    within(20, async {
        let (c, mut s, _a, _b) = pair().await;
        let (mut r, w) = c.into_split();
        drop(w);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
        s.write_all(b"still here").await.unwrap();
        drop(s);
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"still here");
    })
    .await;
}
