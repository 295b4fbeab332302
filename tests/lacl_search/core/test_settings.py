import argparse

import pytest

from lacl_search.core.settings import ClusterSettings


def test_env_and_flags():
    env = {"OPENSEARCH_URL": "https://search.example:9200", "OPENSEARCH_USER": "alice",
           "OPENSEARCH_PASSWORD": "s3cret", "OPENSEARCH_VERIFY_CERTS": "false", "MYPW": "other"}
    s = ClusterSettings.from_env(env)
    assert (s.url, s.user, s.password, s.verify_certs, s.use_ssl) == ("https://search.example:9200", "alice",
                                                                      "s3cret", False, True)
    parser = argparse.ArgumentParser()
    ClusterSettings.add_arguments(parser)
    args = parser.parse_args(["--url", "http://127.0.0.1:9201", "--password-env", "MYPW", "--ca-certs", "/ca.pem"])
    s2 = ClusterSettings.from_args(args, env)
    assert (s2.url, s2.user, s2.password, s2.ca_certs) == ("http://127.0.0.1:9201", "alice", "other", "/ca.pem")


def test_credentials_never_in_repr_or_safe_url():
    s = ClusterSettings(url="https://bob:hunter2@search.example:9200")
    assert s.user == "bob" and s.password == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in s.safe_url() and "hunter2" not in s.url
    assert s.redact("auth failed for hunter2") == "auth failed for ***"


@pytest.mark.parametrize("url", ["localhost:9200", "ftp://x", "http://"])
def test_bad_url_is_named(url):
    with pytest.raises(ValueError, match="OpenSearch URL"):
        ClusterSettings(url=url)


def test_bad_bool_is_named():
    with pytest.raises(ValueError, match="OPENSEARCH_VERIFY_CERTS"):
        ClusterSettings.from_env({"OPENSEARCH_VERIFY_CERTS": "maybe"})


def test_unset_password_env_is_an_error():
    parser = argparse.ArgumentParser()
    ClusterSettings.add_arguments(parser)
    with pytest.raises(ValueError, match="NOPE"):
        ClusterSettings.from_args(parser.parse_args(["--password-env", "NOPE"]), {})
