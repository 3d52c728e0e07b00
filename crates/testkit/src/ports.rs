//! Loopback ports for services a test must know the address of before they start.

/// A loopback port that was free a moment ago, for a service a test must know the address of
/// before it starts.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
