"""Feedback API (DRF): create or update feedback on one's own prediction; list one's own."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback.ratelimits import feedback_limit
from feedback.selectors import feedback_get_for_prediction, feedback_list_for_user
from feedback.serializers import (
    FeedbackInputSerializer,
    FeedbackOutputSerializer,
    FeedbackPageSerializer,
)
from feedback.services import feedback_upsert
from portal.api.openapi import (
    NO_SUCH_PAGE,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    PAGE_PARAMETERS,
    ErrorSerializer,
)
from portal.api.pagination import StandardPagination
from portal.api.parsers import BoundedJSONParser
from portal.exceptions import NotFound


@method_decorator(feedback_limit, name="post")
class PredictionFeedbackApi(APIView):
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="predictions_feedback_upsert",
        summary="Create or update your feedback on one of your predictions",
        description=(
            "One feedback per prediction: the first POST creates it (201), later ones update "
            "it (200). A shared salary may become a training row; unusual ones are held for "
            "review. Rate-limited per user (429 with Retry-After)."
        ),
        request=FeedbackInputSerializer,
        responses={
            201: FeedbackOutputSerializer,
            200: FeedbackOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid input; errors by field"),
            401: NOT_AUTHENTICATED,
            404: NOT_FOUND,
            413: OpenApiResponse(ErrorSerializer, description="Request body too large"),
            415: OpenApiResponse(ErrorSerializer, description="Unsupported Content-Type"),
            429: OpenApiResponse(ErrorSerializer, description="Too many requests"),
            503: OpenApiResponse(
                ErrorSerializer, description="A service it needs (the cache) is down; retry later"
            ),
        },
        tags=["feedback"],
    )
    def post(self, request: Request, prediction_id: int) -> Response:
        serializer = FeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        feedback, created = feedback_upsert(
            user=request.user,
            prediction_id=prediction_id,
            actual_salary_usd=data.get("actual_salary_usd"),
            rating=data["rating"],
            comment=data.get("comment", ""),
        )
        return Response(
            FeedbackOutputSerializer(feedback).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="predictions_feedback_retrieve",
        summary="Your feedback on one of your predictions",
        responses={200: FeedbackOutputSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        tags=["feedback"],
    )
    def get(self, request: Request, prediction_id: int) -> Response:
        feedback = feedback_get_for_prediction(user=request.user, prediction_id=prediction_id)
        if feedback is None:
            raise NotFound({"detail": ["No feedback on this prediction."]})
        return Response(FeedbackOutputSerializer(feedback).data)


class FeedbackListApi(APIView):
    @extend_schema(
        operation_id="feedback_list",
        summary="Your feedback, most recently changed first",
        parameters=PAGE_PARAMETERS,
        responses={
            200: FeedbackPageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid page size"),
            401: NOT_AUTHENTICATED,
            404: NO_SUCH_PAGE,
        },
        tags=["feedback"],
    )
    def get(self, request: Request) -> Response:
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            feedback_list_for_user(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(FeedbackOutputSerializer(page, many=True).data)
