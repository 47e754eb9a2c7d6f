from argon2 import PasswordHasher

from server import create_app
from server.auth.sessions import hash_password


def test_production_uses_argon2_default_cost(tmp_path):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    with app.app_context():
        stored = hash_password("a long enough password")
    default = PasswordHasher()
    assert f"m={default.memory_cost},t={default.time_cost},p={default.parallelism}" in stored
