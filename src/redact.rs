//! Service URLs as they may be shown: with the password of their user info hidden.

/// `url` with the password of its user info replaced by `***` (`http://u:***@h/`); a URL
/// without user info is returned as it is.
#[cfg_attr(not(any(feature = "server", feature = "client")), allow(dead_code))]
pub(crate) fn userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{hostport}{}", &rest[end..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            super::userinfo("http://u:p%40ss@h:1/eureka/?q#f"),
            "http://u:***@h:1/eureka/?q#f"
        );
        assert_eq!(super::userinfo("http://u@h/"), "http://u:***@h/");
        assert_eq!(super::userinfo("http://h/a@b"), "http://h/a@b");
        assert_eq!(super::userinfo("nope"), "nope");
    }
}
