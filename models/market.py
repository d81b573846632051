"""Market data the collector writes and the trading loop reads (status_ids_settings §6, HOT rows).

keyspace only reads these in the application; they are declared so that every key
has a model (``keyspace stats`` finds no key of no model) and their TTLs are known.
"""

from __future__ import annotations

from keyspace import AnyModel, StringModel
from models.types import Symbol, Timeframe


class Candles(AnyModel, key="candles:{symbol}:{timeframe}", ttl=None):
    """Candles as JSON items (a LIST; one collector writes a STRING), read-only here
    (``HYPERRSI/src/data_collector/integrated_data_collector.py:501-503``)."""

    symbol: Symbol
    timeframe: Timeframe


class CandlesWithIndicators(AnyModel, key="candles_with_indicators:{symbol}:{timeframe}", ttl=None):
    """Candles with indicators as JSON items, read-only here
    (``HYPERRSI/src/data_collector/integrated_data_collector.py:640-643``)."""

    symbol: Symbol
    timeframe: Timeframe


class LatestCandle(StringModel, key="latest:{symbol}:{timeframe}", ttl=None):
    """The last closed candle as JSON text
    (``HYPERRSI/src/data_collector/integrated_data_collector.py:809``)."""

    symbol: Symbol
    timeframe: Timeframe
    payload: str


class CurrentCandle(StringModel, key="current_candle:{symbol}:{timeframe}", ttl=None):
    """The forming candle as JSON text (``HYPERRSI/src/data_collector/integrated_data_collector.py:804``)."""

    symbol: Symbol
    timeframe: Timeframe
    payload: str


class CurrentCandleWithIndicators(
    StringModel, key="current_candle_with_indicators:{symbol}:{timeframe}", ttl=None
):
    """The forming candle with indicators as JSON text
    (``HYPERRSI/src/data_collector/integrated_data_collector.py:960``)."""

    symbol: Symbol
    timeframe: Timeframe
    payload: str


class Ticker(StringModel, key="ws:okx:tickers:{symbol}", ttl=None):
    """OKX's ticker push as JSON text (``HYPERRSI/websocket/position_monitor.py:463``)."""

    symbol: Symbol
    payload: str


class MonitorHeartbeat(StringModel, key="ws:position_monitor:heartbeat", ttl=120):
    """The position monitor's heartbeat, EX 120 (``HYPERRSI/websocket/position_monitor.py:514``)."""

    beat: str


class ContractSpecifications(StringModel, key="symbol_info:contract_specifications", ttl=None):
    """OKX contract specifications as JSON text (``HYPERRSI/src/api/routes/account.py:188``)."""

    payload: str


class ContractSpecsLastUpdate(StringModel, key="symbol_info:contract_specs_last_update", ttl=None):
    """When the specifications were fetched (``HYPERRSI/src/api/routes/account.py:192``)."""

    updated: str
