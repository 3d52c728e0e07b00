//! The devnet market: Uniswap v2 (factory, router, one pair) deployed from its published npm
//! artifacts, a wrapped-ether token (WETH9) and a dollar token, liquidity, and a seeded noise
//! trader that moves the price between ticks so the agent has decisions to make.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use warden_bindings::DevnetToken;
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::{UniswapV2Factory, UniswapV2Pair, UniswapV2Router02, WETH9};

use crate::DeployError;

/// One token with 18 decimals, in base units.
pub fn whole(tokens: u64) -> U256 {
    U256::from(tokens) * U256::from(10u64).pow(U256::from(18u64))
}

/// Addresses of the devnet market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketContracts {
    /// The wrapped-ether token the agent trades (its "base").
    pub weth: Address,
    /// The dollar token prices are quoted in.
    pub dollar: Address,
    pub factory: Address,
    pub router: Address,
    /// The WETH/dollar pair.
    pub pair: Address,
}

/// Initial liquidity of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketParams {
    /// WETH in the pool.
    pub base_liquidity: u64,
    /// Dollars per WETH at the start.
    pub initial_price: u64,
}

impl Default for MarketParams {
    fn default() -> Self {
        Self {
            base_liquidity: 1_000,
            initial_price: 3_000,
        }
    }
}

/// A far-future swap deadline: devnet swaps are mined at once.
const NO_DEADLINE: u64 = u64::MAX / 2;

/// Deploys the market and seeds the pair's liquidity from `owner`'s ether.
pub async fn deploy<P: Provider + Clone>(
    provider: &P,
    owner: Address,
    params: MarketParams,
) -> Result<MarketContracts, DeployError> {
    let weth = WETH9::deploy(provider.clone()).await?;
    let dollar = DevnetToken::deploy(
        provider.clone(),
        "Warden Devnet Dollar".to_string(),
        "wUSD".to_string(),
        owner,
    )
    .await?;
    let factory = UniswapV2Factory::deploy(provider.clone(), owner).await?;
    let router =
        UniswapV2Router02::deploy(provider.clone(), *factory.address(), *weth.address()).await?;

    let base = whole(params.base_liquidity);
    let quote = whole(params.base_liquidity) * U256::from(params.initial_price);
    confirm("WETH9.deposit", weth.deposit().value(base).send().await?).await?;
    confirm("DevnetToken.mint", dollar.mint(owner, quote).send().await?).await?;
    confirm(
        "WETH9.approve",
        weth.approve(*router.address(), base).send().await?,
    )
    .await?;
    confirm(
        "DevnetToken.approve",
        dollar.approve(*router.address(), quote).send().await?,
    )
    .await?;
    confirm(
        "UniswapV2Router02.addLiquidity",
        router
            .addLiquidity(
                *weth.address(),
                *dollar.address(),
                base,
                quote,
                U256::ZERO,
                U256::ZERO,
                owner,
                U256::from(NO_DEADLINE),
            )
            .send()
            .await?,
    )
    .await?;
    let pair = factory
        .getPair(*weth.address(), *dollar.address())
        .call()
        .await?;
    Ok(MarketContracts {
        weth: *weth.address(),
        dollar: *dollar.address(),
        factory: *factory.address(),
        router: *router.address(),
        pair,
    })
}

/// Funds `account` with `base` WETH wrapped from the provider's signer's ether.
pub async fn fund_base<P: Provider + Clone>(
    provider: &P,
    market: &MarketContracts,
    account: Address,
    base: U256,
) -> Result<(), DeployError> {
    let weth = WETH9::new(market.weth, provider.clone());
    confirm("WETH9.deposit", weth.deposit().value(base).send().await?).await?;
    confirm("WETH9.transfer", weth.transfer(account, base).send().await?).await?;
    Ok(())
}

/// Funds each of `accounts` with `base` WETH, wrapped from the provider's signer's ether in one
/// deposit. The transfers are sent one after another without waiting for each to be mined (the
/// sender's nonces follow one another), then confirmed together: funding hundreds of operators
/// costs a round of confirmations, not one per transfer.
pub async fn fund_base_each<P: Provider + Clone>(
    provider: &P,
    market: &MarketContracts,
    accounts: &[Address],
    base: U256,
) -> Result<(), DeployError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let weth = WETH9::new(market.weth, provider.clone());
    let total = base.saturating_mul(U256::from(accounts.len()));
    confirm("WETH9.deposit", weth.deposit().value(total).send().await?).await?;
    let mut pending = Vec::with_capacity(accounts.len());
    for account in accounts {
        pending.push(weth.transfer(*account, base).send().await?);
    }
    for transfer in pending {
        confirm("WETH9.transfer", transfer).await?;
    }
    Ok(())
}

/// Funds `account` with `base` WETH (wrapped from the provider's signer's ether) and `quote`
/// dollars.
pub async fn fund<P: Provider + Clone>(
    provider: &P,
    market: &MarketContracts,
    account: Address,
    base: U256,
    quote: U256,
) -> Result<(), DeployError> {
    fund_base(provider, market, account, base).await?;
    let dollar = DevnetToken::new(market.dollar, provider.clone());
    confirm(
        "DevnetToken.mint",
        dollar.mint(account, quote).send().await?,
    )
    .await?;
    Ok(())
}

/// The pair's reserves as (WETH, dollars).
pub async fn reserves<P: Provider>(
    provider: &P,
    market: &MarketContracts,
) -> Result<(U256, U256), DeployError> {
    let pair = UniswapV2Pair::new(market.pair, provider);
    let reserves = pair.getReserves().call().await?;
    let token0 = pair.token0().call().await?;
    let (r0, r1) = (
        U256::from(reserves._reserve0),
        U256::from(reserves._reserve1),
    );
    Ok(if token0 == market.weth {
        (r0, r1)
    } else {
        (r1, r0)
    })
}

/// A trader that swaps a random side and size each step, from a seed, so runs are repeatable.
/// Its sides lean toward the price the pool had at its first trade, as arbitrage against an
/// outside market pulls a real pool back: the price wanders, but not off for good, and the spot
/// price keeps returning to its TWAP.
#[derive(Debug)]
pub struct NoiseTrader {
    rpc_url: alloy::transports::http::reqwest::Url,
    signer: PrivateKeySigner,
    market: MarketContracts,
    rng: StdRng,
    /// Largest trade as a share of the pool's reserve, in basis points.
    max_trade_bps: u64,
    /// Dollars per WETH (1e18 fixed point) at the first trade: where the trades lean back to.
    anchor: Option<U256>,
}

/// Share of trades that push the price toward the anchor.
const TOWARD_ANCHOR: f64 = 0.7;

impl NoiseTrader {
    /// A trader acting with `signer`, which must hold WETH and dollars (see [`fund`]).
    pub fn new(
        rpc_url: alloy::transports::http::reqwest::Url,
        signer: PrivateKeySigner,
        market: MarketContracts,
        seed: u64,
    ) -> Self {
        Self {
            rpc_url,
            signer,
            market,
            rng: StdRng::seed_from_u64(seed),
            // Up to 0.3 % of the pool, a price move of up to about 0.6 %: enough for the agent to
            // see trends, calm enough that the spot price stays near its TWAP most of the time,
            // within the vault's default 1 % tolerance at execution.
            max_trade_bps: 30,
            anchor: None,
        }
    }

    /// The trader's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Approves the router to spend the trader's tokens, once.
    pub async fn approve(&self) -> Result<(), DeployError> {
        let provider = self.provider();
        let weth = WETH9::new(self.market.weth, &provider);
        confirm(
            "WETH9.approve",
            weth.approve(self.market.router, U256::MAX).send().await?,
        )
        .await?;
        let dollar = DevnetToken::new(self.market.dollar, &provider);
        confirm(
            "DevnetToken.approve",
            dollar.approve(self.market.router, U256::MAX).send().await?,
        )
        .await?;
        Ok(())
    }

    fn provider(&self) -> alloy::providers::DynProvider {
        warden_txm::signing_provider(self.rpc_url.clone(), self.signer.clone())
    }

    /// One random swap of up to `max_trade_bps` of the input side's reserve.
    pub async fn trade(&mut self) -> Result<(), DeployError> {
        let provider = self.provider();
        let (reserve_base, reserve_quote) = reserves(&provider, &self.market).await?;
        let price = reserve_quote * whole(1) / reserve_base.max(U256::from(1u8));
        let anchor = *self.anchor.get_or_insert(price);
        // Selling base lowers the price: toward the anchor when the price is above it.
        let toward = price > anchor;
        let sell_base = if self.rng.gen_bool(TOWARD_ANCHOR) {
            toward
        } else {
            !toward
        };
        let bps = self.rng.gen_range(10..=self.max_trade_bps);
        let (token_in, token_out, reserve_in) = if sell_base {
            (self.market.weth, self.market.dollar, reserve_base)
        } else {
            (self.market.dollar, self.market.weth, reserve_quote)
        };
        let amount_in = reserve_in * U256::from(bps) / U256::from(10_000u64);
        let router = UniswapV2Router02::new(self.market.router, &provider);
        confirm(
            "UniswapV2Router02.swapExactTokensForTokens",
            router
                .swapExactTokensForTokens(
                    amount_in,
                    U256::ZERO,
                    vec![token_in, token_out],
                    self.signer.address(),
                    U256::from(NO_DEADLINE),
                )
                .send()
                .await?,
        )
        .await?;
        Ok(())
    }
}
