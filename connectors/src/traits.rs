//! The shape every streaming venue implements. The framework in `transport` owns everything
//! else: the loop, reconnects, backoff, pings, staleness, epochs and the outbox.

use crate::book::{Book, LevelChange};
use crate::error::ParseError;
use crate::sim::{SimFuture, SimOptions};
use crate::spec::VenueSpec;
use rust_decimal::Decimal;
use schemas::{Market, Ts};
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

/// One quote as parsed from a frame; borrows the symbol from the frame when it can.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ParsedQuote<'a> {
    pub symbol: Cow<'a, str>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub bid_size: Option<Decimal>,
    pub ask_size: Option<Decimal>,
    pub last: Option<Decimal>,
    pub mark: Option<Decimal>,
    pub index: Option<Decimal>,
    pub volume_24h: Option<Decimal>,
    pub exchange_ts: Option<Ts>,
    pub sequence: Option<u64>,
    /// Whether this is a whole quote or a partial one the framework merges.
    pub merge: Merge,
}

impl ParsedQuote<'_> {
    /// The same quote, owning its symbol (to keep it past the frame it borrowed from).
    pub fn into_owned(self) -> ParsedQuote<'static> {
        ParsedQuote {
            symbol: Cow::Owned(self.symbol.into_owned()),
            bid: self.bid,
            ask: self.ask,
            bid_size: self.bid_size,
            ask_size: self.ask_size,
            last: self.last,
            mark: self.mark,
            index: self.index,
            volume_24h: self.volume_24h,
            exchange_ts: self.exchange_ts,
            sequence: self.sequence,
            merge: self.merge,
        }
    }
}

/// How a parsed quote relates to the previous quote of its symbol on the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Merge {
    /// A whole quote.
    #[default]
    Full,
    /// Fields that are `None` did not change since the last snapshot (Bybit linear `delta`);
    /// a delta with no snapshot before it is a gap.
    Delta,
    /// Another stream's fields for the same symbol (Binance USD-M `markPrice` beside
    /// `bookTicker`): merged onto the last quote if there is one, else taken alone.
    Patch,
}

/// What a frame was, beyond the quotes it carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Market data (quotes were pushed to `out`).
    Data,
    /// A venue heartbeat: proves the socket is alive, never that data is fresh.
    Heartbeat,
    /// Subscribe acks, pongs, system status and other control traffic.
    Control,
    /// The venue announced it will close this connection (Binance `serverShutdown`).
    Reconnect,
    /// The venue refused something we asked for (a subscription error).
    VenueError(String),
    /// The venue expects this text back (Deribit `test_request` -> `public/test`).
    Respond(String),
    /// The venue bound a numeric channel id to a symbol (Bitfinex `subscribed`); later data
    /// frames name only the channel, and parsers read the binding from [`ConnState`].
    Bind { channel: i64, symbol: String },
    /// Market data given as order-book level changes (Gemini v2 `l2_updates`): quotes were
    /// pushed to `out` (their top computed with [`Book::top_after`]), and the framework applies
    /// `changes` to the symbol's book in [`ConnState::books`] after the parse; `snapshot`
    /// replaces the book instead of updating it.
    Book {
        symbol: String,
        snapshot: bool,
        changes: Vec<LevelChange>,
    },
    /// The venue's numbering shows lost updates: the framework replaces the connection, which
    /// resubscribes and gets a fresh snapshot.
    Gap(String),
}

/// How a venue numbers its updates (the `sequence` of parsed quotes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequencing {
    /// No usable numbering.
    None,
    /// Increases per symbol, with jumps (Binance `u`, Bybit `seq`/`cs`, OKX and Deribit change
    /// ids): an update not above the last one is a duplicate or out of order and is dropped.
    Increasing,
    /// +1 per update per symbol: a jump is a gap (lost updates) and resubscribes.
    Contiguous,
}

/// What a parser may read of its connection (per-connection state is the framework's; the
/// parser stays a pure function of the frame and this).
#[derive(Clone, Debug, Default)]
pub struct ConnState {
    /// Channel id -> venue symbol, from [`FrameKind::Bind`].
    pub channels: HashMap<i64, String>,
    /// Venue symbol -> price levels, from [`FrameKind::Book`] (only venues that stream level
    /// changes and no top of book use it).
    pub books: HashMap<String, Book>,
}

/// How the client keeps a connection alive.
#[derive(Clone, Copy, Debug)]
pub enum PingPolicy {
    /// The server pings and we answer (tungstenite answers pings by itself).
    ServerPings,
    /// Send a WebSocket ping frame every interval.
    WsPing(Duration),
    /// Send an application-level text ping every interval; the function builds it from a
    /// request id.
    Text(Duration, fn(u64) -> String),
}

impl PingPolicy {
    /// How often we ping, if we do.
    pub fn interval(&self) -> Option<Duration> {
        match self {
            PingPolicy::ServerPings => None,
            PingPolicy::WsPing(d) | PingPolicy::Text(d, _) => Some(*d),
        }
    }
}

/// How a venue spells an instrument, split into the venue's own asset codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolSpec<'s> {
    /// A separator makes the split explicit (`BTC-USD`, `BTC/USD`).
    Split {
        base: &'s str,
        quote: &'s str,
        market: Market,
        /// Expiry of a dated future as `YYYYMMDD`.
        expiry: Option<String>,
    },
    /// Base and quote are glued together (`BTCUSDT`); the asset master splits it against the
    /// known quote assets and refuses an ambiguous split.
    Joined {
        symbol: &'s str,
        market: Market,
        /// Expiry of a dated future as `YYYYMMDD`.
        expiry: Option<String>,
    },
    /// Not an instrument this venue kind can carry.
    Invalid(&'static str),
}

/// A venue that streams prices over WebSocket. What it *is* (URL, cadence, ping, sequencing,
/// symbol style, aliases, samples) is its [`VenueSpec`]; the constant methods below read it
/// and are only overridden where a figure is not a constant.
pub trait StreamingVenue: Send + Sync + 'static {
    /// This kind's declaration (`venues/<kind>/spec.rs`); its `prices` is set.
    fn spec(&self) -> &'static VenueSpec;
    /// The registry id (`kind` in config, `venue` in captures and records).
    fn kind(&self) -> &'static str {
        self.spec().kind
    }
    /// The production endpoint, overridable per connector with `ws_url`.
    fn default_ws_url(&self) -> &'static str {
        self.spec().price().ws_url
    }
    /// The URL to open for these symbols (Binance names its combined streams in the URL).
    fn connect_url(&self, base: &str, _symbols: &[&str]) -> String {
        base.to_owned()
    }
    /// Messages to send after connecting, in order.
    fn subscribe_messages(&self, symbols: &[&str]) -> Vec<String>;
    fn ping_policy(&self) -> PingPolicy {
        self.spec().price().ping
    }
    /// How often a live instrument's stream normally carries data; a stream is STALE after
    /// twice this without data.
    fn expected_cadence(&self) -> Duration {
        self.spec().price().cadence
    }
    /// Pure: one frame in, quotes out through `emit` (no allocation for the list, and the
    /// quotes may borrow from the frame). No clock, no I/O (house rule 2).
    fn parse(
        &self,
        frame: &str,
        conn: &ConnState,
        emit: &mut dyn FnMut(ParsedQuote<'_>),
    ) -> Result<FrameKind, ParseError>;
    /// How this venue numbers its quotes.
    fn sequencing(&self) -> Sequencing {
        self.spec().price().sequencing
    }
    /// Whether some quotes are partial (`ParsedQuote::merge`) and need the last full quote.
    fn sends_deltas(&self) -> bool {
        self.spec().price().sends_deltas
    }
    /// Splits a configured symbol into venue asset codes: by the spec's [`SymbolStyle`]
    /// unless the venue has its own rules ([`SymbolStyle::Own`]) and overrides this.
    ///
    /// [`SymbolStyle`]: crate::spec::SymbolStyle
    /// [`SymbolStyle::Own`]: crate::spec::SymbolStyle::Own
    fn split_symbol<'s>(&self, symbol: &'s str) -> SymbolSpec<'s> {
        self.spec().price().symbols.split(symbol)
    }
    /// This venue's own asset codes that differ from the canonical ones, as
    /// `(venue_code, canonical)` (Bitfinex `UST` -> `USDT`). The asset master adds them for this
    /// venue kind only; anything else unknown is refused at config load, never guessed.
    fn asset_aliases(&self) -> &'static [(&'static str, &'static str)] {
        self.spec().aliases
    }
    /// Two real symbols of this venue, for the contract test and documentation.
    fn sample_symbols(&self) -> &'static [&'static str] {
        self.spec().samples
    }
    /// Starts this venue's simulator on 127.0.0.1:0.
    fn start_sim(&self, options: SimOptions) -> SimFuture;
}
