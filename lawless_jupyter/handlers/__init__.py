"""The route table: every URL of the extension, in one place (relative to ``base_url``)."""

from __future__ import annotations

from .attempts import AttemptChatHandler, AttemptChooseHandler, AttemptHandler, AttemptsHandler
from .chat import (
    ApprovalHandler,
    ChatCancelHandler,
    ChatHandler,
    ChatRulesHandler,
    ChatStreamHandler,
    FreeChatHandler,
    MessagesHandler,
)
from .connections import (
    AuthStatusHandler,
    GitHubCallbackHandler,
    GitHubCloneHandler,
    GitHubDeviceHandler,
    GitHubDevicePollHandler,
    GitHubReposHandler,
    GitPushHandler,
    ProviderAuthHandler,
    PullRequestHandler,
    VercelDeploymentsHandler,
    VercelHandler,
    VercelProjectsHandler,
)
from .health import HealthHandler, VersionHandler
from .integrations import SupabaseRetryHandler, SupabaseStatusHandler
from .kernel import SessionKernelHandler, SessionKernelRestartHandler
from .proxy import TerminalSocketHandler
from .sessions import (
    GitCommitHandler,
    GitDiffHandler,
    GitFilesHandler,
    GitFileVersionsHandler,
    GitLogHandler,
    GitMergeHandler,
    GitNotebookDiffHandler,
    GitStatusHandler,
    SessionHandler,
    SessionsHandler,
)
from .terminals import (
    SessionTerminalHandler,
    SessionTerminalsHandler,
    TerminalConfigHandler,
    TerminalOutputHandler,
)
from .turns import ForkHandler, RewindHandler, TurnsHandler
from .user import ActivityHandler, PreferencesHandler, QuotaHandler
from .workers import WorkersStatusHandler

PREFIX = "lawless"
_SESSION = r"api/workspace/sessions/(?P<session_id>[^/]+)"
_ATTEMPT = r"api/workspace/attempts/(?P<attempt_id>[^/]+)"

# (path below PREFIX, handler). The OpenAPI spec is checked against this list by a test.
ROUTES = [
    ("health", HealthHandler),
    ("version", VersionHandler),
    ("api/workers/status", WorkersStatusHandler),
    ("api/workspace/sessions", SessionsHandler),
    (_SESSION, SessionHandler),
    (f"{_SESSION}/git/status", GitStatusHandler),
    (f"{_SESSION}/git/diff", GitDiffHandler),
    (f"{_SESSION}/git/notebook-diff", GitNotebookDiffHandler),
    (f"{_SESSION}/git/file-versions", GitFileVersionsHandler),
    (f"{_SESSION}/git/files", GitFilesHandler),
    (f"{_SESSION}/git/log", GitLogHandler),
    (f"{_SESSION}/git/commit", GitCommitHandler),
    (f"{_SESSION}/git/merge", GitMergeHandler),
    (f"{_SESSION}/git/push", GitPushHandler),
    (f"{_SESSION}/git/pull-request", PullRequestHandler),
    (f"{_SESSION}/chat", ChatHandler),
    (f"{_SESSION}/chat/stream", ChatStreamHandler),
    (f"{_SESSION}/chat/cancel", ChatCancelHandler),
    (f"{_SESSION}/chat/approvals/(?P<request_id>[^/]+)", ApprovalHandler),
    (f"{_SESSION}/chat/rules", ChatRulesHandler),
    (f"{_SESSION}/messages", MessagesHandler),
    (f"{_SESSION}/turns", TurnsHandler),
    (f"{_SESSION}/rewind", RewindHandler),
    (f"{_SESSION}/fork", ForkHandler),
    (f"{_SESSION}/terminals", SessionTerminalsHandler),
    (f"{_SESSION}/terminals/(?P<name>[^/]+)", SessionTerminalHandler),
    (f"{_SESSION}/terminals/(?P<name>[^/]+)/output", TerminalOutputHandler),
    (f"{_SESSION}/terminals/(?P<name>[^/]+)/websocket", TerminalSocketHandler),
    (f"{_SESSION}/kernel", SessionKernelHandler),
    (f"{_SESSION}/kernel/restart", SessionKernelRestartHandler),
    ("api/terminal/config", TerminalConfigHandler),
    ("api/workspace/attempts", AttemptsHandler),
    (_ATTEMPT, AttemptHandler),
    (f"{_ATTEMPT}/chat", AttemptChatHandler),
    (f"{_ATTEMPT}/choose", AttemptChooseHandler),
    ("api/chat", FreeChatHandler),
    ("api/user/activity", ActivityHandler),
    ("api/user/quota", QuotaHandler),
    ("api/user/preferences", PreferencesHandler),
    ("api/integrations/supabase/status", SupabaseStatusHandler),
    ("api/integrations/supabase/retry", SupabaseRetryHandler),
    ("api/auth/status", AuthStatusHandler),
    ("api/auth/(?P<provider>[^/]+)", ProviderAuthHandler),  # after api/auth/status
    ("api/auth/github/callback", GitHubCallbackHandler),
    ("api/auth/github/device", GitHubDeviceHandler),
    ("api/auth/github/device/poll", GitHubDevicePollHandler),
    ("api/integrations/github/repos", GitHubReposHandler),
    ("api/integrations/github/clone", GitHubCloneHandler),
    ("api/integrations/vercel", VercelHandler),
    ("api/integrations/vercel/projects", VercelProjectsHandler),
    ("api/integrations/vercel/deployments", VercelDeploymentsHandler),
]


def handlers() -> list[tuple[str, type]]:
    return [(rf"/{PREFIX}/{path}", handler) for path, handler in ROUTES]
