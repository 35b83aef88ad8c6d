from django.urls import path

from api import views_account

app_name = "account"
urlpatterns = [
    path("", views_account.account, name="home"),
    path("tokens/<int:token_id>/revoke/", views_account.token_revoke_view, name="token_revoke"),
]
