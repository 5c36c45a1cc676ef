"""The fields a material or an equipment has both as read from Production and as sent to Integration: the bases
of both sides' models (models_source.py, models.py)."""

from __future__ import annotations

from pydantic import BaseModel


class _SkuFields(BaseModel):
    """What materials and equipment share, read from Production and sent to Integration alike."""

    displayName: str | None = None
    cost: float | None = None
    price: float | None = None
    memberPrice: float | None = None
    addOnPrice: float | None = None
    addOnMemberPrice: float | None = None
    hours: float | None = None
    bonus: float | None = None
    commissionBonus: float | None = None
    paysCommission: bool | None = None
    isInventory: bool | None = None
    unitOfMeasure: str | None = None
    account: str | None = None
    costOfSaleAccount: str | None = None
    assetAccount: str | None = None
    taxable: bool | None = None


class _MaterialFields(_SkuFields):
    """What a Production material and a material create request share."""

    deductAsJobCost: bool | None = None
    categories: list[int] | None = None
    isConfigurableMaterial: bool | None = None
    chargeableByDefault: bool | None = None
    isOtherDirectCost: bool | None = None
    budgetCostCode: str | None = None
    budgetCostType: str | None = None
