from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path

from .api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("enterprises/", include("yingshang.enterprises.urls")),
    path("appeals/", include("yingshang.appeals.urls")),
    path("services/", include("yingshang.service_items.urls")),
    path("policies/", include("yingshang.policies.urls")),
    path("supervision/", include("yingshang.supervision.urls")),
    path("", include("yingshang.core.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
