//! The crate's client, Discover and balancer against a real Spring Eureka server.
