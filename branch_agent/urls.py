from django.urls import include, path

from branch_agent import (
    api,
    appointment_views,
    floor_settings,
    floor_views,
    login,
    views,
    voice_views,
)

app_name = "branch_agent"

urlpatterns = [
    path("", views.home, name="home"),
    path("kiosk/", views.kiosk, name="kiosk"),
    path("kiosk/ticket/<uuid:visit_id>/", views.ticket, name="ticket"),
    path("kiosk/appointment/", appointment_views.kiosk_appointment, name="kiosk_appointment"),
    path("board/", views.board, name="board"),
    path("board/state.json", views.board_json, name="board_json"),
    path("board/voice.json", voice_views.board_voice, name="board_voice"),
    path("board/voice/<str:key>.audio", voice_views.voice_audio, name="voice_audio"),
    path("voice/", voice_views.voice_admin, name="voice_admin"),
    path("voice/<str:key>/save/", voice_views.voice_save, name="voice_save"),
    path("voice/<str:key>/delete/", voice_views.voice_delete, name="voice_delete"),
    path("voice/settings/", voice_views.voice_settings, name="voice_settings"),
    path("rating/", views.rating_choose, name="rating_choose"),
    path("rating/<str:desk>/", views.rating, name="rating"),
    path("rating/<str:desk>/thanks/", views.rating_thanks, name="rating_thanks"),
    path("rating/<str:desk>/state.json", views.rating_json, name="rating_json"),
    path("front/", views.front, name="front"),
    path("front/<uuid:visit_id>/", views.guestbook, name="guestbook"),
    path("desk/", views.desk_choose, name="desk_choose"),
    path("desk/<str:desk>/", views.desk, name="desk"),
    path("desk/<str:desk>/action/", views.desk_action, name="desk_action"),
    path("desk/<str:desk>/queue.json", views.desk_json, name="desk_json"),
    path("desk/<str:desk>/pause/", floor_views.desk_pause, name="desk_pause"),
    path("q/<str:token>/", floor_views.live, name="live"),
    path("q/<str:token>/state.json", floor_views.live_json, name="live_json"),
    path("head/", floor_views.head, name="head"),
    path("sync/", views.sync_page, name="sync"),
    path("sync/status.json", views.sync_json, name="sync_json"),
    path("search/", views.search, name="search"),
    path("screens/", floor_settings.settings_page, name="floor_settings"),
    path("screens/logo", floor_settings.office_logo, name="office_logo"),
    path("login/", login.LoginView.as_view(), name="login"),
    path("logout/", login.LogoutView.as_view(), name="logout"),
    path("api/queue/issue", api.queue_issue, name="api_issue"),
    path("api/queue", api.queue_status, name="api_queue"),
    path("api/desk/<str:desk>/call-next", api.desk_call_next, name="api_call_next"),
    path("api/sync/status", api.sync_status, name="api_sync_status"),
]

urlpatterns = [
    # Browsers ask for /favicon.ico on their own (and log a 404 without one).
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include((urlpatterns, app_name))),
]
