"""What a tenant's admin may change, each change checked, applied and written to the audit log.

One service behind both the Admin page's callbacks and the admin REST API, so the rules live in one
place: only admins act (an analyst gets `Forbidden`, and nothing changes); an admin acts only on its
own tenant (another tenant's user or key is "not found", never "forbidden", so ids reveal nothing);
an admin cannot disable or demote itself (a tenant never locks itself out by accident); secrets
(passwords, keys) never reach the audit log.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable

from services.security.apikeys import ApiKeyStore
from services.tenants.audit import AuditLog
from services.tenants.settings import SettingsError, TenantSettings, check_source, check_thresholds
from services.security.users import ROLES, User, UserError, UserStore


class AdminError(Exception):
    """An admin action that cannot be done; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


class Forbidden(AdminError):
    def __init__(self):
        super().__init__(403, "Only an admin of this tenant can do that.")


class AdminService:
    def __init__(self, users: UserStore, keys: ApiKeyStore, settings: TenantSettings, audit: AuditLog,
                 sign_out_everywhere: Callable[..., None], redis_status: Callable[[], dict]):
        self.users, self.keys, self.settings, self.audit = users, keys, settings, audit
        self.sign_out_everywhere = sign_out_everywhere      # (user_id, reason): sessions end, sockets close
        self.redis_status = redis_status

    @staticmethod
    def _check(actor) -> None:
        if not getattr(actor, "is_admin", False):
            raise Forbidden()

    def _target(self, actor: User, user_id) -> User:
        target = self.users.get(user_id)
        if target is None or target.tenant != actor.tenant:
            raise AdminError(404, f"No user with id {user_id} in your tenant.")
        return target

    # -- users ---------------------------------------------------------------------------------
    def list_users(self, actor: User) -> list[dict]:
        self._check(actor)
        return self.users.list(actor.tenant)

    def create_user(self, actor: User, username: str, password: str, role: str) -> dict:
        self._check(actor)
        try:
            user = self.users.create(username, password, role, actor.tenant)
        except UserError as exc:
            raise AdminError(409 if "exists" in str(exc) else 422, str(exc), _field(str(exc))) from None
        self.audit.record(actor.tenant, actor.username, "user.create", user.username, role=role)
        return {"id": user.id, "username": user.username, "role": user.role, "active": True}

    def update_user(self, actor: User, user_id, role=None, active=None, password=None) -> dict:
        """Several changes to one user, all checked before any is made (never half an update)."""
        self._check(actor)
        target = self._target(actor, user_id)
        if role is not None:
            self._check_role(actor, target, role)
        if active is not None:
            self._check_active(actor, target, active)
        if password is not None and (not isinstance(password, str) or len(password) < 8):
            raise AdminError(422, "password must be at least 8 characters", "password")
        if role is not None:
            self.set_role(actor, user_id, role)
        if active is not None:
            self.set_active(actor, user_id, active)
        if password is not None:
            self.reset_password(actor, user_id, password)
        return next(u for u in self.users.list(actor.tenant) if u["id"] == target.id)

    @staticmethod
    def _check_role(actor: User, target: User, role) -> None:
        if role not in ROLES:
            raise AdminError(422, f"role must be one of {', '.join(ROLES)}", "role")
        if target.id == actor.id and role != "admin":
            raise AdminError(409, "You cannot remove your own admin role; ask another admin.", "role")

    @staticmethod
    def _check_active(actor: User, target: User, active) -> None:
        if not isinstance(active, bool):
            raise AdminError(422, "active must be true or false", "active")
        if target.id == actor.id and not active:
            raise AdminError(409, "You cannot disable your own account.", "active")

    def set_role(self, actor: User, user_id, role: str) -> None:
        self._check(actor)
        target = self._target(actor, user_id)
        self._check_role(actor, target, role)
        self.users.set_role(target.id, role)
        self.audit.record(actor.tenant, actor.username, "user.role", target.username, before=target.role, after=role)

    def set_active(self, actor: User, user_id, active: bool) -> None:
        self._check(actor)
        target = self._target(actor, user_id)
        self._check_active(actor, target, active)
        self.users.set_active(target.id, active)
        if not active:          # their sessions end with the change, their sockets now
            self.sign_out_everywhere(target.id, "account disabled")
        self.audit.record(actor.tenant, actor.username, "user.enable" if active else "user.disable", target.username)

    def reset_password(self, actor: User, user_id, password: str) -> None:
        self._check(actor)
        target = self._target(actor, user_id)
        try:
            self.users.set_password(target.id, password)      # their sessions end with the change
        except UserError as exc:
            raise AdminError(422, str(exc), "password") from None
        self.sign_out_everywhere(target.id, "password changed")      # and their sockets now
        self.audit.record(actor.tenant, actor.username, "user.password_reset", target.username)

    def sign_out(self, actor: User, user_id) -> None:
        """End every session of a user of this tenant (a lost laptop); they can sign in again."""
        self._check(actor)
        target = self._target(actor, user_id)
        self.sign_out_everywhere(target.id, "signed out by an admin")
        self.audit.record(actor.tenant, actor.username, "user.sign_out", target.username)

    # -- API keys ------------------------------------------------------------------------------
    def list_keys(self, actor: User) -> list[dict]:
        self._check(actor)
        return [asdict(k) for k in self.keys.list(actor.tenant)]

    def create_key(self, actor: User, name: str) -> tuple[dict, str]:
        """The new key's record and the key itself, which is shown this once and never stored."""
        self._check(actor)
        try:
            record, key = self.keys.create(name, actor.tenant)
        except ValueError as exc:
            raise AdminError(422, str(exc), "name") from None
        self.audit.record(actor.tenant, actor.username, "api_key.create", record.prefix, name=record.name)
        return asdict(record), key

    def revoke_key(self, actor: User, prefix: str) -> None:
        self._check(actor)
        if not self.keys.revoke(prefix, actor.tenant):
            raise AdminError(404, f"No API key with prefix {prefix!r}.")
        self.audit.record(actor.tenant, actor.username, "api_key.revoke", prefix)

    # -- data source and thresholds --------------------------------------------------------------
    def source(self, actor: User) -> dict:
        self._check(actor)
        return {**asdict(self.settings.source(actor.tenant)), "redis": self.redis_status()}

    def set_source(self, actor: User, simulator, rate, anomaly_rate) -> dict:
        return self._change_setting(actor, "source.update", "simulator",
                                    lambda: check_source(simulator, rate, anomaly_rate),
                                    self.settings.source, self.settings.set_source)

    def thresholds(self, actor: User) -> dict:
        self._check(actor)
        return asdict(self.settings.thresholds(actor.tenant))

    def set_thresholds(self, actor: User, medium, high, critical) -> dict:
        return self._change_setting(actor, "thresholds.update", "risk levels",
                                    lambda: check_thresholds(medium, high, critical),
                                    self.settings.thresholds, self.settings.set_thresholds)

    def _change_setting(self, actor: User, action: str, target: str, check, read, write) -> dict:
        """Validate a new value (422 naming the field), store it, audit before and after."""
        self._check(actor)
        try:
            new = check()
        except SettingsError as exc:
            raise AdminError(422, str(exc), exc.field) from None
        before = read(actor.tenant)
        write(actor.tenant, new)
        self.audit.record(actor.tenant, actor.username, action, target, before=asdict(before), after=asdict(new))
        return asdict(new)

    def audit_log(self, actor: User, limit: int = 100) -> list[dict]:
        self._check(actor)
        return self.audit.recent(actor.tenant, limit)


def _field(message: str) -> str | None:
    return next((f for f in ("username", "password", "role") if message.startswith(f)), None)
