package dev.cairn

import example.shop.IdentifyPlan
import example.shop.OrderCompletedCurrency
import example.shop.OrderCompletedPaymentMethod
import example.shop.OrderCompletedShipping
import example.shop.OrderCompletedShippingAddress
import example.shop.OrderCompletedShippingMethod
import example.shop.Product
import example.shop.ProductCategory
import example.shop.ProductViewedSource
import example.shop.TrackingPlan
import org.junit.Assert.assertEquals
import org.junit.Test

/**
 * The Kotlin typed calls generated from the sample plan
 * (examples/plans/generated/TrackingPlan.kt, compiled into the test jar)
 * record the planned events, with their properties under the plan's keys.
 */
class TrackingPlanTest {
    private val product = Product(productId = "p-1", price = 12.5, name = "Dune", quantity = 2, category = ProductCategory.VIDEO_GAMES)
    private val productJson = mapOf("product_id" to "p-1", "price" to 12.5, "name" to "Dune", "quantity" to 2L, "category" to "video games")

    @Test
    fun everyGeneratedCallDeliversThePlannedEvent() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                val plan = TrackingPlan(cairn)
                assertEquals("shop" to "3", TrackingPlan.PLAN_ID to TrackingPlan.PLAN_VERSION)
                plan.identify("user-7", email = "ada@example.com", plan = IdentifyPlan.PRO, age = 36)
                plan.group("org-1", name = "Analytical Engines")
                plan.cartViewed()
                plan.productViewed(product, source = ProductViewedSource.RECOMMENDATION)
                plan.orderCompleted(
                    currency = OrderCompletedCurrency.EUR,
                    orderId = "o-42",
                    products = listOf(product, Product(productId = "p-2", price = 3.0)),
                    total = 28.0,
                    coupon = "SAVE10",
                    paymentMethod = OrderCompletedPaymentMethod.CREDIT_CARD,
                    shipping = OrderCompletedShipping(
                        OrderCompletedShippingMethod.EXPRESS,
                        OrderCompletedShippingAddress(city = "Lyon", country = "FR"),
                    ),
                    tags = listOf("first", "gift wrap"),
                    gift = false,
                )
                plan.searchPerformed(query = "dune", referrer = null, results = 3, filters = mapOf("format" to "paperback"), tookMs = 1.5)
                assertEquals(0L, cairn.flush().remaining)
            }
            val events = collector.events
            assertEquals(
                listOf("identify", "group", "Cart Viewed", "Product Viewed", "Order Completed", "Search Performed"),
                events.map { it["event"] ?: it["type"] },
            )
            assertEquals("user-7", events[0]["userId"])
            assertEquals(mapOf("email" to "ada@example.com", "plan" to "pro", "age" to 36L), events[0]["traits"])
            assertEquals(mapOf("name" to "Analytical Engines"), events[1]["traits"])
            assertEquals("org-1", events[1]["groupId"])
            assertEquals(mapOf("product" to productJson, "source" to "recommendation"), events[3]["properties"])
            assertEquals(
                mapOf(
                    "order_id" to "o-42",
                    "total" to 28.0,
                    "currency" to "EUR",
                    "products" to listOf(productJson, mapOf("product_id" to "p-2", "price" to 3.0)),
                    "coupon" to "SAVE10",
                    "payment_method" to "credit card",
                    "shipping" to mapOf("method" to "express", "address" to mapOf("city" to "Lyon", "country" to "FR")),
                    "tags" to listOf("first", "gift wrap"),
                    "gift" to false,
                    "checkout_version" to "2024-checkout",
                ),
                events[4]["properties"],
            )
            // A required nullable property is sent as null, not left out.
            assertEquals(
                mapOf("query" to "dune", "results" to 3L, "referrer" to null, "filters" to mapOf("format" to "paperback"), "took_ms" to 1.5),
                events[5]["properties"],
            )
        }
    }

    /** The plan of awkward names (examples/plans/edge-cases.json): keywords, quotes, `$`, digits first. */
    @Test
    fun namesThatAreKeywordsOrNeedEscapingCompileAndAreSentAsPlanned() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                val plan = example.edge.TrackingPlan(cairn)
                assertEquals("edge \"cases\" \$plan \\ é", example.edge.TrackingPlan.PLAN_ID)
                val point = example.edge.Point(x = 1.0, y = 2.5)
                plan.classJoinedNow(
                    `class` = "wizard",
                    default = listOf(1.5, null),
                    `in` = true,
                    self = 7,
                    type = example.edge.ClassJoinedNowType._2FA,
                    `fun` = mapOf("home" to point),
                    matrix = listOf(listOf(1L, 2L), emptyList()),
                )
                plan.v2ndStep(`is` = example.edge.V2ndStepIs.YES, points = listOf(point))
                assertEquals(0L, cairn.flush().remaining)
            }
            val events = collector.events
            assertEquals(listOf("Class \"Joined\" \$now", "2nd Step"), events.map { it["event"] })
            assertEquals(
                mapOf(
                    "class" to "wizard", "default" to listOf(1.5, null), "in" to true, "self" to 7L, "type" to "2fa",
                    "fun" to mapOf("home" to mapOf("x" to 1.0, "y" to 2.5)), "matrix" to listOf(listOf(1L, 2L), emptyList<Any>()),
                    "version" to mapOf("major" to 1L, "tags" to listOf("a\"b", "\$x")),
                ),
                events[0]["properties"],
            )
            assertEquals(mapOf("is" to "yes", "points" to listOf(mapOf("x" to 1.0, "y" to 2.5))), events[1]["properties"])
        }
    }
}
