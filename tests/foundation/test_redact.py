from stnav_desktop.redact import redact, redact_mapping, register_secret


def test_patterns():
    assert "abc.def" not in redact("Authorization: Bearer abc.def")
    assert redact("headers={'Authorization': 'Basic dXNlcjpwdw=='}").count("dXNlcjpwdw") == 0
    assert redact("client_secret=topsecret&grant_type=x") == "client_secret=***&grant_type=x"
    assert redact('{"password": "hunter2x", "user": "bob"}') == '{"password": "***", "user": "bob"}'
    assert redact("https://bob:pa55word@nav.example.local:7048/x") == "https://bob:***@nav.example.local:7048/x"
    assert "k3yv4lue" not in redact("ST-App-Key: k3yv4lue")


def test_registered_values_are_masked_anywhere():
    register_secret("Zq9-unusual-value")
    assert redact("the server echoed Zq9-unusual-value back") == "the server echoed *** back"


def test_mapping():
    out = redact_mapping({"client_secret": "x1y2z3w4", "nested": [{"access_token": "t"}], "amount": 5})
    assert out == {"client_secret": "***", "nested": [{"access_token": "***"}], "amount": 5}
