from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose another language with the switch (language cookie); the
    browser's Accept-Language header alone does not turn the interface into English."""

    def process_request(self, request: HttpRequest) -> None:
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang and translation.check_for_language(lang) and lang in dict(settings.LANGUAGES):
            translation.activate(lang)
        else:
            translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
